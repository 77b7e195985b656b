"""The interop HTTP routes on each engine: autoconfig, application passwords, outbound.

Callers for every route: nobody (no token), the operator token, the owner's agent, another
person's agent. The autoconfig XML is read back with ElementTree (an independent parser).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import httpx
from sqlalchemy import select

from caducee.gateway import GatewayConfig, TrustList
from caducee.gateway.edge import outbound_queue
from caducee.gateway.models import OutboundMail
from caducee.gateway.passwords import AppPasswordService
from tests.server.conftest import OPERATOR_TOKEN, World, problem

PEER = "ch-exemple.mssante.fr"
APP = "/api/v1/interop/app-passwords"


async def test_autoconfig_for_anyone(world: World) -> None:
    for path in ("/.well-known/autoconfig/mail/config-v1.1.xml", "/mail/config-v1.1.xml"):
        response = await world.client.get(path, params={"emailaddress": "x@caducee.test"})
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/xml")
        root = ET.fromstring(response.content)  # noqa: S314 (our own output)
        assert root.tag == "clientConfig" and root.get("version") == "1.1"
        provider = root.find("emailProvider")
        assert provider is not None and provider.findtext("domain") == "caducee.test"
        incoming = provider.find("incomingServer")
        outgoing = provider.find("outgoingServer")
        assert incoming is not None and outgoing is not None
        assert incoming.get("type") == "imap" and incoming.findtext("port") == "10143"
        assert outgoing.get("type") == "smtp" and outgoing.findtext("port") == "587"
        for server in (incoming, outgoing):
            assert server.findtext("socketType") == "STARTTLS"
            assert server.findtext("username") == "%EMAILADDRESS%"
        langs = [d.get("lang") for d in provider.iter("descr")]
        assert langs == ["fr", "en"]  # French first


async def test_app_passwords_for_each_caller(world: World) -> None:
    owner = await world.person("Owner")
    other = await world.person("Other")
    anonymous: dict[str, str] = {}
    operator = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
    for headers in (anonymous, operator):
        problem(await world.client.get(APP, headers=headers), 401, "unauthenticated")
        problem(await world.client.post(APP, json={}, headers=headers), 401, "unauthenticated")
        problem(await world.client.delete(f"{APP}/1", headers=headers), 401, "unauthenticated")

    created = await world.client.post(APP, json={"label": "Thunderbird"}, headers=owner.headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["username"] == owner.address and body["label"] == "Thunderbird"
    assert body["smtp"]["security"] == "STARTTLS" and body["imap"]["port"] == 10143
    # The password works for SMTP AUTH (argon2 hash checked by the gateway's service).
    service = AppPasswordService(world.state.database)
    identity = await service.authenticate(owner.address, body["password"])
    assert identity.password_id == body["id"]

    listed = (await world.client.get(APP, headers=owner.headers)).json()
    assert [p["id"] for p in listed["passwords"]] == [body["id"]]
    assert "password" not in listed["passwords"][0]  # shown once, never listed
    assert (await world.client.get(APP, headers=other.headers)).json()["passwords"] == []

    # Another person cannot revoke it: it does not exist for them.
    problem(
        await world.client.delete(f"{APP}/{body['id']}", headers=other.headers),
        404,
        "unknown-app-password",
    )
    revoked = await world.client.delete(f"{APP}/{body['id']}", headers=owner.headers)
    assert revoked.status_code == 204
    again = await world.client.delete(f"{APP}/{body['id']}", headers=owner.headers)
    assert again.status_code == 204  # idempotent
    listed = (await world.client.get(APP, headers=owner.headers)).json()
    assert listed["passwords"][0]["revoked_at"] is not None
    problem(
        await world.client.delete(f"{APP}/0", headers=owner.headers), 404, "unknown-app-password"
    )
    problem(
        await world.client.post(APP, json={"label": "x" * 101}, headers=owner.headers),
        400,
        "invalid-label",
    )


async def test_too_many_passwords(world: World) -> None:
    owner = await world.person("Owner")
    for _ in range(10):
        assert (await world.client.post(APP, json={}, headers=owner.headers)).status_code == 201
    problem(
        await world.client.post(APP, json={}, headers=owner.headers), 409, "too-many-app-passwords"
    )


async def _with_gateway(world: World) -> None:
    state = world.state
    config = GatewayConfig.from_settings(state.settings, environ={}, trust_list_local=(PEER,))
    state.extras["gateway_config"] = config
    state.extras["trust_list"] = TrustList(local=(*config.internal_domains, PEER))
    await outbound_queue(state, config)


MIME = (
    "From: {sender}\r\nTo: dr.martin@" + PEER + "\r\nSubject: CR synthetique\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n\r\nCorps synthetique.\r\n"
)


async def test_outbound_for_each_caller(world: World) -> None:
    owner = await world.person("Owner")
    other = await world.person("Other")
    url = "/api/v1/interop/outbound"
    to = {"Caducee-To": f"dr.martin@{PEER}"}
    data = MIME.format(sender=owner.address).encode()
    problem(
        await world.client.post(url, content=data, headers={**owner.headers, **to}),
        503,
        "gateway-off",
    )
    await _with_gateway(world)
    for headers in ({}, {"Authorization": f"Bearer {OPERATOR_TOKEN}"}):
        problem(
            await world.client.post(url, content=data, headers={**headers, **to}),
            401,
            "unauthenticated",
        )
    sent = await world.client.post(url, content=data, headers={**owner.headers, **to})
    assert sent.status_code == 202, sent.text
    message_id = sent.json()["message_id"]
    async with world.state.database.sessions() as session:
        [row] = list(await session.scalars(select(OutboundMail)))
    assert row.sender == owner.address and row.recipients == [f"dr.martin@{PEER}"]
    status = await world.client.get(f"{url}/{message_id}", headers=owner.headers)
    assert status.json()["domains"][0]["state"] == "queued"
    problem(
        await world.client.get(f"{url}/{message_id}", headers=other.headers), 404, "unknown-message"
    )
    # Refusals carry the SMTP edge's codes.
    refused = await world.client.post(
        url, content=data, headers={**owner.headers, "Caducee-To": "x@unlisted.example"}
    )
    assert "550 5.7.1" in problem(refused, 403, "domain-not-trusted")["smtp"]
    internal = await world.client.post(
        url, content=data, headers={**owner.headers, "Caducee-To": other.address}
    )
    problem(internal, 403, "relay-denied")
    broken = await world.client.post(
        url, content=b"no headers at all", headers={**owner.headers, **to}
    )
    problem(broken, 422, "bad-message")


async def test_openapi_lists_the_routes(world: World) -> None:
    schema: httpx.Response = await world.client.get("/openapi.json")
    paths = schema.json()["paths"]
    for path in (
        APP,
        f"{APP}/{{password_id}}",
        "/api/v1/interop/outbound",
        "/mail/config-v1.1.xml",
    ):
        assert path in paths
