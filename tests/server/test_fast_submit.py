"""The submission fast path answers exactly as the FastAPI route does, case by case."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from caducee.relay import Envelope, SubmissionHeld
from caducee.server.fast_submit import SubmissionFastPath
from tests.relay.cms_samples import fake_enveloped, fake_signed
from tests.server.conftest import Identity, World

Case = Callable[[Identity, Identity, str], tuple[dict[str, str], bytes]]


def json_body(sender: Identity, to: list[str], message_id: str, body: bytes) -> bytes:
    import json

    return json.dumps(
        {
            "message_id": message_id,
            "from": sender.address,
            "to": to,
            "ciphertext": base64.b64encode(body).decode(),
        }
    ).encode()


def raw_headers(sender: Identity, to: str, message_id: str) -> dict[str, str]:
    return {
        "Content-Type": "application/pkcs7-mime",
        "Caducee-Message-Id": message_id,
        "Caducee-From": sender.address,
        "Caducee-To": to,
        **sender.headers,
    }


BODY = fake_enveloped()
JSON = {"Content-Type": "application/json"}
CASES: dict[str, Case] = {
    "json accepted": lambda s, r, i: ({**JSON, **s.headers}, json_body(s, [r.address], i, BODY)),
    "raw accepted": lambda s, r, i: (raw_headers(s, r.address, i), BODY),
    "no token": lambda s, r, i: (JSON, json_body(s, [r.address], i, BODY)),
    "bad token": lambda s, r, i: (
        {**JSON, "Authorization": "Bearer nope"},
        json_body(s, [r.address], i, BODY),
    ),
    "not json": lambda s, r, i: ({**JSON, **s.headers}, b"{not json"),
    "missing field": lambda s, r, i: ({**JSON, **s.headers}, b'{"message_id": "x"}'),
    "not base64": lambda s, r, i: (
        {**JSON, **s.headers},
        json_body(s, [r.address], i, BODY).replace(b'"ciphertext": "', b'"ciphertext": "%%'),
    ),
    "unknown recipient": lambda s, r, i: (
        {**JSON, **s.headers},
        json_body(s, ["nobody@caducee.test"], i, BODY),
    ),
    "as someone else": lambda s, r, i: ({**JSON, **r.headers}, json_body(s, [r.address], i, BODY)),
    "not S/MIME": lambda s, r, i: (raw_headers(s, r.address, i), fake_signed()),
    "raw without envelope": lambda s, r, i: (
        {"Content-Type": "application/pkcs7-mime", **s.headers},
        BODY,
    ),
    "too large": lambda s, r, i: (raw_headers(s, r.address, i), fake_enveloped(30 * 1024 * 1024)),
}


@pytest.fixture
async def fast(world: World) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=SubmissionFastPath(world.app))
    async with httpx.AsyncClient(transport=transport, base_url="http://caducee.test") as client:
        yield client


def comparable(response: httpx.Response) -> tuple[int, str, Any]:
    body = response.json()
    for varying in ("accepted_at", "message_id", "ciphertext_sha256"):
        body.pop(varying, None)
    return response.status_code, response.headers["content-type"], body


async def test_every_case_answers_as_the_route_does(world: World, fast: httpx.AsyncClient) -> None:
    sender, recipient = await world.person("Labo"), await world.person("Gp")
    for name, case in CASES.items():
        answers = []
        for client, suffix in ((world.client, "route"), (fast, "fast")):
            headers, content = case(sender, recipient, f"{name.replace(' ', '-')}-{suffix}")
            response = await client.post("/api/v1/messages", headers=headers, content=content)
            answers.append(comparable(response))
        assert answers[0] == answers[1], name
        assert answers[0][0] in {201, 401, 403, 413, 415, 422, 400}, (name, answers[0])


async def test_a_retry_through_the_fast_path_is_idempotent(
    world: World, fast: httpx.AsyncClient
) -> None:
    sender, recipient = await world.person("Labo"), await world.person("Gp")
    headers = raw_headers(sender, recipient.address, "retry-1")
    first = await fast.post("/api/v1/messages", headers=headers, content=BODY)
    again = await fast.post("/api/v1/messages", headers=headers, content=BODY)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    listed = await world.client.get("/api/v1/mailbox/messages", headers=recipient.headers)
    assert [m["message_id"] for m in listed.json()["messages"]] == ["retry-1"]


async def test_a_held_message_answers_202_on_both_paths(
    world: World, fast: httpx.AsyncClient
) -> None:
    async def hold(sender_id: int, envelope: Envelope, sha256: str, size: int) -> None:
        raise SubmissionHeld("à modérer / to moderate", hold_id=envelope.message_id)

    world.state.extras["submission_gate"] = hold
    sender, recipient = await world.person("Labo"), await world.person("Gp")
    for client in (world.client, fast):
        headers = raw_headers(sender, recipient.address, f"held-{id(client)}")
        response = await client.post("/api/v1/messages", headers=headers, content=BODY)
        assert response.status_code == 202, response.text
        assert response.json()["status"] == "held"


async def test_other_requests_go_to_the_app(world: World, fast: httpx.AsyncClient) -> None:
    assert (await fast.get("/healthz")).status_code == 200
    assert (await fast.get("/api/v1/messages")).status_code == 405
    assert "/api/v1/messages" in (await fast.get("/openapi.json")).json()["paths"]
