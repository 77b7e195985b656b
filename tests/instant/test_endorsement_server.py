"""Approving a new device from an existing one over the API: the endorsement routes, each
kind of caller, every refusal, listings, evidence and cascade revocation; on SQLite and
PostgreSQL.

SYNTHETIC TEST MATERIAL: people come from ``tests.server.conftest.World``; device keys are
generated afresh (X25519); labels are invented.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx
from sqlalchemy import select

from caducee.instant import _wire
from caducee.instant.device_keys import DeviceKeys, DevicePublicKeys
from caducee.instant.devices import device_log_id
from caducee.instant.endorsement import endorse_device, endorsement_body, verify_endorsed_device
from caducee.instant.models import PairingRequest
from caducee.instant.pairing import key_fingerprint
from caducee.ledger import EvidenceEvent
from tests.instant.miss import API, b64, evidence_events
from tests.instant.test_pairing_support import (
    ask_pairing,
    browser_keys,
    device_login,
    paired_device,
)
from tests.server.conftest import Identity, World, problem


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def path(code: str) -> str:
    return f"{API}/pairing/{code}/endorsement"


async def endorse(world: World, token: str, code: str, endorsement: bytes) -> httpx.Response:
    return await world.client.post(
        path(code), json={"endorsement": b64(endorsement)}, headers=bearer(token)
    )


async def endorsed_device(
    world: World, person: Identity, endorser: DeviceKeys, token: str
) -> tuple[DeviceKeys, str]:
    """A new browser approved by ``endorser`` and logged in: its keys and token."""
    keys = browser_keys(person.address)
    code = await ask_pairing(world.client, keys)
    response = await endorse(world, token, code, endorse_device(keys.public(), endorser))
    assert response.status_code == 201, response.text
    login = await device_login(world.client, keys)
    assert login.status_code == 200, login.text
    new_token: str = login.json()["access_token"]
    return keys, new_token


async def listing(world: World, person: Identity, token: str) -> dict[str, dict[str, Any]]:
    answer = await world.client.get(f"{API}/people/{person.address}/devices", headers=bearer(token))
    assert answer.status_code == 200, answer.text
    return {d["device_id"]: d for d in answer.json()["devices"]}


async def test_a_device_approves_a_new_one_which_then_logs_in(world: World) -> None:
    alice = await world.person("Alice")
    old, token = await paired_device(world, alice)
    new = browser_keys(alice.address)
    code = await ask_pairing(world.client, new)

    shown = await world.client.get(path(code.lower()), headers=bearer(token))
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert (body["label"], body["device_id"], body["endorser"]) == (
        "Téléphone de garde",
        new.device_id,
        old.device_id,
    )
    assert body["signing_fingerprint"] == key_fingerprint(new.public().signing_public)
    assert body["hpke_fingerprint"] == key_fingerprint(new.public().hpke_public)

    endorsement = endorse_device(new.public(), old)
    created = await endorse(world, token, code, endorsement)
    assert created.status_code == 201, created.text
    assert created.json()["endorsed_by"] == old.device_id
    async with world.state.database.sessions() as session:
        assert (await session.scalars(select(PairingRequest))).all() == []
    problem(
        await world.client.get(path(code), headers=bearer(token)), 404, "instant-pairing-unknown"
    )

    login = await device_login(world.client, new)
    assert login.status_code == 200, login.text
    new_token = login.json()["access_token"]
    cases = await world.client.get(f"{API}/cases", headers=bearer(new_token))
    assert cases.status_code == 200, cases.text

    listed = await listing(world, alice, new_token)
    assert listed[old.device_id]["endorsed_by"] is None
    assert "endorser_statement" not in listed[old.device_id]
    entry = listed[new.device_id]
    assert entry["endorsed_by"] == old.device_id
    assert entry["label"] == "Téléphone de garde"  # the request's, kept through the endorsement
    assert entry["endorser_statement"] == listed[old.device_id]["statement"]
    checked = verify_endorsed_device(
        base64.b64decode(entry["statement"]),
        base64.b64decode(entry["endorser_statement"]),
        alice.certificate,
    )
    assert checked == new.public()

    events = await evidence_events(world, device_log_id(new.device_id))
    assert [e for e, _ in events] == [EvidenceEvent.DEVICE_REGISTERED]
    record = events[0][1]
    assert record.extra["endorsed_by"] == old.device_id
    assert record.extra["serial"] == alice.serial_hex
    assert record.extra["endorser_statement_sha256"] == listed[old.device_id]["statement_sha256"]
    assert record.ciphertext_sha256 == entry["statement_sha256"]


async def test_each_kind_of_caller(world: World) -> None:
    alice, bob = await world.person("Alice"), await world.person("Bob")
    old, token = await paired_device(world, alice)
    _, bobs_token = await paired_device(world, bob)
    new = browser_keys(alice.address)
    code = await ask_pairing(world.client, new)
    endorsement = endorse_device(new.public(), old)

    for method in ("GET", "POST"):
        json = {"endorsement": b64(endorsement)} if method == "POST" else None

        async def call(headers: dict[str, str], m: str = method, j: Any = json) -> httpx.Response:
            return await world.client.request(m, path(code), json=j, headers=headers)

        problem(await call({}), 401, "unauthenticated")
        problem(await call(bearer("miss-device.forged")), 401, "unauthenticated")
        problem(await call(alice.headers), 403, "instant-endorsement-needs-device")
        problem(await call(bearer(bobs_token)), 404, "instant-pairing-unknown")
    assert (await world.client.get(path(code), headers=bearer(token))).status_code == 200
    problem(await endorse(world, bobs_token, code, endorsement), 404, "instant-pairing-unknown")
    created = await endorse(world, token, code, endorsement)  # the refusals left it pending
    assert created.status_code == 201, created.text


async def test_an_expired_device_token_is_refused(world: World) -> None:
    alice = await world.person("Alice")
    old, token = await paired_device(world, alice)
    new = browser_keys(alice.address)
    code = await ask_pairing(world.client, new)
    world.clock.advance(seconds=901)  # the device token lasts 15 minutes
    problem(await world.client.get(path(code), headers=bearer(token)), 401, "token-expired")
    problem(
        await endorse(world, token, code, endorse_device(new.public(), old)),
        401,
        "token-expired",
    )


async def test_a_revoked_device_approves_nothing(world: World) -> None:
    alice = await world.person("Alice")
    old, token = await paired_device(world, alice)
    new = browser_keys(alice.address)
    code = await ask_pairing(world.client, new)
    assert (await world.client.get(path(code), headers=bearer(token))).status_code == 200
    revoked = await world.client.delete(f"{API}/devices/{old.device_id}", headers=alice.headers)
    assert revoked.json()["revoked"] is True
    endorsement = endorse_device(new.public(), old)
    # its token is still in the 5 s authentication cache: the registry refuses
    problem(await endorse(world, token, code, endorsement), 403, "instant-endorser-revoked")
    problem(
        await world.client.get(path(code), headers=bearer(token)), 403, "instant-endorser-revoked"
    )
    world.clock.advance(seconds=6)
    problem(await endorse(world, token, code, endorsement), 401, "unauthenticated")


async def test_an_endorsed_device_cannot_endorse(world: World) -> None:
    alice = await world.person("Alice")
    old, token = await paired_device(world, alice)
    second, second_token = await endorsed_device(world, alice, old, token)
    third = browser_keys(alice.address)
    code = await ask_pairing(world.client, third)
    problem(
        await world.client.get(path(code), headers=bearer(second_token)),
        403,
        "instant-endorser-endorsed",
    )
    problem(
        await endorse(world, second_token, code, endorse_device(third.public(), second)),
        403,
        "instant-endorser-endorsed",
    )
    assert (
        await endorse(world, token, code, endorse_device(third.public(), old))
    ).status_code == 201


async def test_forged_mismatching_and_malformed_endorsements_are_refused(world: World) -> None:
    alice = await world.person("Alice")
    old, token = await paired_device(world, alice)
    other, _ = await paired_device(world, alice)
    new = browser_keys(alice.address)
    code = await ask_pairing(world.client, new)

    good = endorse_device(new.public(), old)
    flipped = bytearray(good)
    flipped[-1] ^= 1
    problem(await endorse(world, token, code, bytes(flipped)), 422, "instant-forged-device")
    by_other = endorse_device(new.public(), other)  # names another endorser than the caller
    problem(await endorse(world, token, code, by_other), 422, "instant-forged-device")
    impostor = DeviceKeys.generate(new.device_id, alice.address)  # same id, other keys
    problem(
        await endorse(world, token, code, endorse_device(impostor.public(), old)),
        422,
        "instant-endorsement-mismatch",
    )
    problem(await endorse(world, token, code, b"not an endorsement"), 400, "instant-malformed")
    statement = (await listing(world, alice, token))[old.device_id]
    problem(
        await endorse(world, token, code, base64.b64decode(statement["statement"])),
        400,
        "instant-malformed",
    )
    notb64 = await world.client.post(path(code), json={"endorsement": "%%%"}, headers=bearer(token))
    problem(notb64, 400, "instant-invalid-base64")
    late = DevicePublicKeys(
        new.device_id,
        alice.address,
        new.public().kem,
        new.public().hpke_public,
        new.public().signing_public,
        old.public().created_at.replace(year=2030),
    )
    body = endorsement_body(late, old.device_id)
    problem(
        await endorse(world, token, code, _wire.fields(body, old.sign(body))),
        422,
        "instant-endorsement-mismatch",
    )
    assert (await endorse(world, token, code, good)).status_code == 201


async def test_revoking_the_endorser_revokes_what_it_endorsed(world: World) -> None:
    alice = await world.person("Alice")
    old, token = await paired_device(world, alice)
    kept, kept_token = await paired_device(world, alice)
    endorsed, _ = await endorsed_device(world, alice, old, token)
    by_kept, _ = await endorsed_device(world, alice, kept, kept_token)

    mine = await world.client.delete(f"{API}/devices/{by_kept.device_id}", headers=alice.headers)
    assert mine.json()["revoked"] is True  # revoking an endorsed device leaves its endorser
    assert set(await listing(world, alice, kept_token)) == {
        old.device_id,
        kept.device_id,
        endorsed.device_id,
    }

    revoked = await world.client.delete(f"{API}/devices/{old.device_id}", headers=alice.headers)
    assert revoked.json()["revoked"] is True
    assert set(await listing(world, alice, kept_token)) == {kept.device_id}
    problem(await device_login(world.client, endorsed), 403, "instant-device-revoked")
    events = await evidence_events(world, device_log_id(endorsed.device_id))
    assert [e for e, _ in events] == [EvidenceEvent.DEVICE_REGISTERED, EvidenceEvent.DEVICE_REVOKED]
    assert events[1][1].extra["revoked_with"] == old.device_id
    mine_listed = await world.client.get(f"{API}/devices", headers=alice.headers)
    revoked_at = {d["device_id"]: d["revoked_at"] for d in mine_listed.json()["devices"]}
    assert revoked_at[endorsed.device_id] == revoked_at[old.device_id] is not None
    assert revoked_at[kept.device_id] is None
