"""The MISS authorisation matrix: every endpoint against every kind of caller.

Callers: a participant, a non-participant (404: the case's existence is not revealed), a
participant whose device is revoked (receives and sends nothing), no token, an expired
token, the operator's token (the operator runs the directory, not the conversations).
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from caducee.instant.device_keys import DeviceKeys
from tests.instant.miss import API, b64, group, open_case, register, with_device
from tests.instant.test_routing_escalation import staffed
from tests.server.conftest import OPERATOR_TOKEN, Identity, World, problem

Call = Callable[[dict[str, str]], Awaitable[httpx.Response]]
_n = itertools.count(1)
CASE_SCOPED = ("get", "add", "remove", "post", "list", "ack")
DEVICE_SCOPED = ("post", "list", "ack")


def case_endpoints(world: World, case_id: str, device: DeviceKeys, dave: str) -> dict[str, Call]:
    """Every endpoint about one case, each called as whoever ``headers`` names."""
    client = world.client
    cipher = group(case_id, device)

    def message(kind: str | None = "message") -> dict[str, Any]:
        body = {
            "message_id": f"authz-{next(_n)}",
            "device_id": device.device_id,
            "ciphertext": b64(cipher.encrypt(b"synthetic")),
        }
        return body if kind is None else {**body, "kind": kind}

    base = f"{API}/cases/{case_id}"
    return {
        "get": lambda h: client.get(base, headers=h),
        "add": lambda h: client.post(f"{base}/participants", json={"participants": []}, headers=h),
        "remove": lambda h: client.delete(f"{base}/participants/{dave}", headers=h),
        "post": lambda h: client.post(f"{base}/messages", json=message(), headers=h),
        "list": lambda h: client.get(
            f"{base}/messages", params={"device": device.device_id}, headers=h
        ),
        "ack": lambda h: client.post(f"{base}/acknowledge", json=message(None), headers=h),
    }


def personal_endpoints(world: World, person: Identity) -> dict[str, Call]:
    client = world.client
    return {
        "create": lambda h: client.post(f"{API}/cases", json={"participants": []}, headers=h),
        "cases": lambda h: client.get(f"{API}/cases", headers=h),
        "devices": lambda h: client.get(f"{API}/devices", headers=h),
        "register": lambda h: client.post(
            f"{API}/devices", json={"statement": b64(b"x")}, headers=h
        ),
        "revoke": lambda h: client.delete(f"{API}/devices/none", headers=h),
        "keys": lambda h: client.get(f"{API}/people/{person.address}/devices", headers=h),
        "on-duty": lambda h: client.get(f"{API}/roles/1/on-duty", headers=h),
        "roles": lambda h: client.get(f"{API}/roles", params={"q": "garde"}, headers=h),
        "certificate-log": lambda h: client.get(f"{API}/ledger/certificates/{'0' * 64}", headers=h),
    }


async def test_every_endpoint_against_every_caller(world: World) -> None:
    alice, bob, eve, dave = [await world.person(n) for n in ("Alice", "Bob", "Eve", "Dave")]
    phone, laptop, eves = [await with_device(world, p) for p in (alice, bob, eve)]
    case_id = (await open_case(world, alice, [bob.address, dave.address]))["case_id"]
    await world.client.delete(f"{API}/devices/{laptop.device_id}", headers=bob.headers)

    # Someone outside the case, with a valid token and device, learns nothing: 404 everywhere,
    # the same answer as for a case that does not exist.
    for call in case_endpoints(world, case_id, eves, dave.address).values():
        problem(await call(eve.headers), 404, "instant-case-not-found")
    for call in case_endpoints(world, "no-such-case", eves, dave.address).values():
        problem(await call(eve.headers), 404, "instant-case-not-found")
    # A participant's revoked device receives and sends nothing.
    calls = case_endpoints(world, case_id, laptop, dave.address)
    for name in DEVICE_SCOPED:
        problem(await calls[name](bob.headers), 403, "instant-device-revoked")
    assert (await calls["get"](bob.headers)).status_code == 200
    # Without a token, or with the operator's: refused everywhere, case or not.
    everything = {
        **case_endpoints(world, case_id, phone, dave.address),
        **personal_endpoints(world, alice),
    }
    operator = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
    for name, call in everything.items():
        problem(await call({}), 401, "unauthenticated")
        reply = await call(operator)
        assert reply.status_code == 401, (name, reply.text)

    # The participant may do everything.
    calls = case_endpoints(world, case_id, phone, dave.address)
    for name in ("get", "add", "post", "list", "ack", "remove"):
        reply = await calls[name](alice.headers)
        assert reply.status_code in (200, 201), (name, reply.text)
    assert (await calls["get"](dave.headers)).status_code == 404  # removed: nothing more

    # Once the token expires, the participant is refused everywhere.
    world.clock.advance(minutes=16)
    for call in everything.values():
        problem(await call(alice.headers), 401, "token-expired")


async def test_someone_elses_device_cannot_be_used_to_read_or_post(world: World) -> None:
    alice, bob = await world.person("Alice"), await world.person("Bob")
    phone = await with_device(world, alice)
    await with_device(world, bob)
    case_id = (await open_case(world, alice, [bob.address]))["case_id"]
    calls = case_endpoints(world, case_id, phone, alice.address)
    problem(await calls["list"](bob.headers), 404, "instant-unknown-device")
    problem(await calls["post"](bob.headers), 404, "instant-unknown-device")
    assert (await register(world, alice, phone)).status_code == 201  # re-signed: same keys


async def test_directory_writes_are_refused_to_every_agent_and_to_nobody(world: World) -> None:
    alice = await world.person("Alice")
    await with_device(world, alice)
    finess = await world.organisation("CHU Synthèse", type="university_hospital")
    operator = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
    service = await world.client.post(
        f"{API}/units",
        json={"organisation": finess, "kind": "service", "name": "Cardiologie"},
        headers=operator,
    )
    unit = service.json()["id"]
    shift = {"address": alice.address, "day": "2026-11-29", "start": "20:00", "end": "08:00"}
    writes: dict[str, Call] = {
        "units": lambda h: world.client.post(
            f"{API}/units",
            json={"organisation": finess, "kind": "service", "name": "Neurologie"},
            headers=h,
        ),
        "members": lambda h: world.client.put(
            f"{API}/units/{unit}/members", json={"addresses": [alice.address]}, headers=h
        ),
        "shifts": lambda h: world.client.post(f"{API}/roles/{unit}/shifts", json=shift, headers=h),
    }
    for call in writes.values():
        problem(await call(alice.headers), 401, "operator-only")
        problem(await call({}), 401, "operator-only")
    assert (await writes["members"](operator)).status_code == 200


async def test_the_escalation_reach_may_be_sent_keys_and_sees_nothing_else(world: World) -> None:
    """Sender keys go to participants' devices and to the reach's; the reach is not a
    participant: every endpoint of the case answers it 404, and no other outsider's device
    may be sent a key."""
    role, _, backup = await staffed(world)
    gp, eve = await world.person("Generaliste"), await world.person("Eve")
    phone, backups, eves = [await with_device(world, p) for p in (gp, backup, eve)]
    case_id = (await open_case(world, gp, [], role=role))["case_id"]
    for call in case_endpoints(world, case_id, backups, gp.address).values():
        problem(await call(backup.headers), 404, "instant-case-not-found")
    cipher = group(case_id, phone, backups, eves)
    sealed = {d.recipient_device_id: d.payload for d in cipher.distributions()}

    async def key_to(device: DeviceKeys) -> httpx.Response:
        body = {
            "message_id": f"authz-{next(_n)}",
            "device_id": phone.device_id,
            "kind": "key",
            "ciphertext": b64(sealed[device.device_id]),
        }
        return await world.client.post(
            f"{API}/cases/{case_id}/messages", json=body, headers=gp.headers
        )

    assert (await key_to(backups)).status_code == 201
    problem(await key_to(eves), 400, "instant-invalid-request")


async def test_walking_every_record_by_index_reveals_no_address_and_no_case(world: World) -> None:
    """Whoever walks ``/ledger/records/0, 1, 2...`` with no token, or with the token of a
    mailbox named in no record, learns no address, case, message or device id: every index,
    and one beyond the log, gets one and the same 404. The operator's walk shows they are
    there to be found."""
    role, primary, backup = await staffed(world)
    gp, lab, eve = [await world.person(n) for n in ("Generaliste", "Laboratoire", "Eve")]
    finess = await world.organisation("Clinique Synthèse")
    clinic = await world.mailbox("accueil@caducee.test", "organisational", organisation=finess)
    mail_id = f"walk-{next(_n)}@caducee.test"
    assert (await world.send(lab, [gp.address], message_id=mail_id)).status_code == 201
    assert (
        await world.client.get(f"/api/v1/mailbox/messages/{mail_id}", headers=gp.headers)
    ).status_code == 200  # ContentHandover
    case_id = (await open_case(world, gp, [], role=role))["case_id"]  # CaseRouted
    mine = await with_device(world, primary)  # DeviceRegistered
    ack = case_endpoints(world, case_id, mine, gp.address)["ack"]
    assert (await ack(primary.headers)).status_code == 201  # CaseAcknowledged
    operator = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
    revoked = await world.client.post(
        f"/api/v1/certificates/{backup.serial_hex}/revoke", json={}, headers=operator
    )
    assert revoked.status_code == 200, revoked.text  # CertificateRevoked
    secrets = [gp.address, lab.address, primary.address, backup.address, case_id, mail_id]
    secrets.append(mine.device_id)

    size = await world.state.extras["evidence_log"].size()
    walk = range(size + 1)

    async def answers(headers: dict[str, str]) -> list[httpx.Response]:
        return [
            await world.client.get(f"/api/v1/ledger/records/{i}", headers=headers) for i in walk
        ]

    seen = " ".join(reply.text for reply in await answers(operator))
    assert [s for s in secrets if s not in seen] == []  # they are all in the log
    for outsider in ({}, eve.headers, clinic.headers):
        replies = await answers(outsider)
        assert {(r.status_code, r.content) for r in replies} == {(404, replies[-1].content)}
        problem(replies[-1], 404, "evidence-unknown-record")
        walked = " ".join(reply.text for reply in replies)
        assert [s for s in secrets if s in walked] == []
