"""Who may do what, for every endpoint and every kind of caller.

Callers: the owner of a mailbox, another person, an organisation's mailbox, nobody (no
token), the owner with an expired token, the owner with a token whose certificate was revoked.
An agent sees, fetches and acknowledges only its own mailbox and sends only as itself; the
admin API answers only to the operator token.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
from cryptography.hazmat.primitives.asymmetric import ec

from caducee.instant.cases import case_log_id
from tests.instant.miss import open_case
from tests.instant.test_routing_escalation import staffed
from tests.server.conftest import OPERATOR_TOKEN, Identity, World, problem

Call = Callable[[dict[str, str]], Awaitable[httpx.Response]]


def agent_endpoints(world: World, owner: Identity, other: str) -> dict[str, Call]:
    """Every agent endpoint, aimed at the owner's message ``m1``."""
    c = world.client
    box = "/api/v1/mailbox"
    return {
        "list": lambda h: c.get(f"{box}/messages", headers=h),
        "fetch": lambda h: c.get(f"{box}/messages/m1", headers=h),
        "ack": lambda h: c.post(f"{box}/messages/m1/ack", headers=h),
        "fetch-many": lambda h: c.post(f"{box}/fetch", json={"message_ids": ["m1"]}, headers=h),
        "ack-many": lambda h: c.post(
            f"{box}/acknowledgements", json={"acknowledgements": [{"message_id": "m1"}]}, headers=h
        ),
        "wait": lambda h: c.get(f"{box}/wait", params={"timeout": 0}, headers=h),
        "events": lambda h: c.get(f"{box}/events", params={"timeout": 0.05}, headers=h),
        "send-as-owner": lambda h: world.send(owner, [other], headers=h),
        "search": lambda h: c.get("/api/v1/directory/search", params={"q": "a"}, headers=h),
        "certificates": lambda h: c.get(
            f"/api/v1/directory/mailboxes/{owner.address}/certificates", headers=h
        ),
        "evidence": lambda h: c.get("/api/v1/ledger/messages/m1/records", headers=h),
        "acknowledgements": lambda h: c.get(
            "/api/v1/ledger/messages/m1/acknowledgements", headers=h
        ),
        "key-transparency": lambda h: c.get(
            "/api/v1/ledger/certificates", params={"address": owner.address}, headers=h
        ),
        "revoke-owners": lambda h: c.post(
            f"/api/v1/certificates/{owner.serial_hex}/revoke", json={}, headers=h
        ),
    }


ADMIN = [
    ("/organisations", {}),
    ("/people", {}),
    ("/mailboxes", {}),
    ("/mailboxes/x@caducee.test/active", {"active": False}),
    ("/people/10000000017/enrolment-code", None),
    ("/mailboxes/x@caducee.test/enrolment-code", None),
]


async def _state_of_m1(world: World, owner: Identity) -> str:
    listed = await world.client.get("/api/v1/mailbox/messages", headers=owner.headers)
    states = [m["state"] for m in listed.json()["messages"] if m["message_id"] == "m1"]
    return states[0] if states else "acknowledged"


async def test_every_endpoint_for_every_caller(world: World) -> None:
    lab_finess = await world.organisation()
    lab = await world.mailbox("lab@caducee.test", "organisational", organisation=lab_finess)
    owner = await world.person("Owner")
    other = await world.person("Other")
    revoked = await world.certify(owner.address, ec.generate_private_key(ec.SECP256R1()))
    await world.login(revoked)
    await world.revoke(revoked)
    reply = await world.send(lab, [owner.address], message_id="m1")
    assert reply.status_code == 201, reply.text

    # Strangers (another person, an organisation's mailbox) get their own view or a refusal.
    for stranger in (other, lab):
        calls = agent_endpoints(world, owner, lab.address)
        h = stranger.headers
        listed = (await calls["list"](h)).json()["messages"]
        assert "m1" not in [m["message_id"] for m in listed]
        problem(await calls["fetch"](h), 404, "unknown-message")
        problem(await calls["ack"](h), 404, "unknown-message")
        [hidden] = (await calls["fetch-many"](h)).json()["messages"]
        assert hidden["problem"]["code"] == "unknown-message" and "ciphertext" not in hidden
        [refused] = (await calls["ack-many"](h)).json()["results"]
        assert refused["problem"]["code"] == "unknown-message" and "state" not in refused
        assert (await calls["wait"](h)).json()["messages"] == []
        assert "m1" not in (await calls["events"](h)).text
        problem(await calls["send-as-owner"](h), 403, "not-your-mailbox")
        assert (await calls["search"](h)).status_code == 200
        assert (await calls["certificates"](h)).status_code == 200  # public keys: by design
        if stranger is lab:  # the sender is a party to m1's evidence
            assert (await calls["evidence"](h)).status_code == 200
            assert (await calls["acknowledgements"](h)).status_code == 200
        else:
            problem(await calls["evidence"](h), 404, "unknown-message")
            problem(await calls["acknowledgements"](h), 404, "unknown-message")
        assert (await calls["key-transparency"](h)).status_code == 200  # public: by design
        problem(await calls["revoke-owners"](h), 404, "unknown-certificate")
    assert await _state_of_m1(world, owner) == "stored"  # strangers changed nothing

    # Callers without a valid token are refused everywhere, each with its reason.
    refused = {
        "unauthenticated": {},
        "certificate-revoked": revoked.headers,
    }
    for code, headers in refused.items():
        for name, call in agent_endpoints(world, owner, lab.address).items():
            reply = await call(headers)
            assert reply.status_code == 401, (code, name, reply.text)
            problem(reply, 401, code)

    # Every admin endpoint refuses every agent, and nobody.
    for path, body in ADMIN:
        for who in (owner, other, lab):
            problem(await world.client.post(f"/api/v1/admin{path}", json=body, headers=who.headers),
                    401, "operator-only")  # fmt: skip
        problem(await world.client.post(f"/api/v1/admin{path}", json=body), 401, "operator-only")

    # The owner may do everything to its own mailbox.
    calls = agent_endpoints(world, owner, lab.address)
    owners = ["list", "fetch", "fetch-many", "ack", "ack-many", "wait", "events", "search"]
    owners.append("certificates")
    for name in (*owners, "evidence", "acknowledgements", "key-transparency"):
        assert (await calls[name](owner.headers)).status_code == 200, name
    assert (await calls["send-as-owner"](owner.headers)).status_code == 201

    # Once the token expires, the owner is refused everywhere too.
    world.clock.advance(minutes=16)
    for name, call in agent_endpoints(world, owner, lab.address).items():
        reply = await call(owner.headers)
        assert reply.status_code == 401, name
        problem(reply, 401, "token-expired")


async def test_a_record_by_index_for_every_caller(world: World) -> None:
    """``/ledger/records/{index}`` for a mail record and a MISS record: the parties it names
    and the operator read it; another person, another organisation's mailbox and nobody get
    the 404 of an absent index; a revoked certificate's or an expired token is a 401."""
    finess = await world.organisation()
    lab = await world.mailbox("lab@caducee.test", "organisational", organisation=finess)
    clinic_finess = await world.organisation("Clinique Synthèse")
    clinic = await world.mailbox(
        "accueil@caducee.test", "organisational", organisation=clinic_finess
    )
    owner, other = await world.person("Owner"), await world.person("Other")
    revoked = await world.certify(owner.address, ec.generate_private_key(ec.SECP256R1()))
    await world.login(revoked)
    await world.revoke(revoked)
    assert (await world.send(lab, [owner.address], message_id="m1")).status_code == 201
    role, on_duty, _ = await staffed(world)
    case_id = (await open_case(world, owner, [], role=role))["case_id"]
    log = world.state.extras["evidence_log"]
    [mail, _] = [i for i, _ in await log.records_of("m1")]  # SubmissionAcceptance
    [routed] = [i for i, _ in await log.records_of(case_log_id(case_id))]  # CaseRouted
    beyond = await log.size() + 3

    def get(index: int, headers: dict[str, str]) -> Awaitable[httpx.Response]:
        return world.client.get(f"/api/v1/ledger/records/{index}", headers=headers)

    operator = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
    # mail: the recipient, the sender; MISS: the creator (sender), the person reached.
    readers = {"mail": (owner, lab), "miss": (owner, on_duty)}
    outsiders = {"mail": (other, clinic), "miss": (other, clinic, lab)}
    for kind, index in (("mail", mail), ("miss", routed)):
        for headers in (*(r.headers for r in readers[kind]), operator):
            assert (await get(index, headers)).status_code == 200, (kind, headers)
        for headers in ({}, *(o.headers for o in outsiders[kind])):
            hidden = problem(await get(index, headers), 404, "evidence-unknown-record")
            assert hidden == problem(await get(beyond, headers), 404, "evidence-unknown-record")
        problem(await get(index, revoked.headers), 401, "certificate-revoked")
    world.clock.advance(minutes=16)
    for index in (mail, routed, beyond):
        problem(await get(index, owner.headers), 401, "token-expired")
