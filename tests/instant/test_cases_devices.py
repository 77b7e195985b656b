"""Devices: registered from a statement the person's certificate key signed, listed, revoked,
each step evidence; forged, foreign and malformed statements are refused."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import strategies as st

from caducee.instant.device_keys import certify_device
from caducee.ledger import EvidenceEvent
from tests.instant.miss import (
    API,
    b64,
    evidence_events,
    examples,
    new_device,
    register,
    statement,
)
from tests.server.conftest import World, problem


async def test_register_list_and_revoke_a_device_with_evidence(world: World) -> None:
    alice = await world.person("Alice")
    device = new_device(alice, "alice-phone")
    signed = statement(alice, device)
    response = await register(world, alice, device, signed)
    assert response.status_code == 201, response.text
    assert response.json()["device_id"] == "alice-phone"
    again = await register(world, alice, device, signed)  # a retry: no second registration
    assert again.status_code == 201

    mine = (await world.client.get(f"{API}/devices", headers=alice.headers)).json()["devices"]
    assert [d["device_id"] for d in mine] == ["alice-phone"] and mine[0]["revoked_at"] is None
    other = await world.person("Bob")
    public = await world.client.get(f"{API}/people/{alice.address}/devices", headers=other.headers)
    assert base64.b64decode(public.json()["devices"][0]["statement"]) == signed

    revoked = await world.client.delete(f"{API}/devices/alice-phone", headers=alice.headers)
    assert revoked.json() == {"device_id": "alice-phone", "revoked": True}
    twice = await world.client.delete(f"{API}/devices/alice-phone", headers=alice.headers)
    assert twice.json()["revoked"] is False
    mine = (await world.client.get(f"{API}/devices", headers=alice.headers)).json()["devices"]
    assert mine[0]["revoked_at"] is not None
    public = await world.client.get(f"{API}/people/{alice.address}/devices", headers=other.headers)
    assert public.json()["devices"] == []
    problem(await register(world, alice, device), 409, "instant-device-taken")

    events = await evidence_events(world, "miss-device:alice-phone")
    assert [e for e, _ in events] == [EvidenceEvent.DEVICE_REGISTERED, EvidenceEvent.DEVICE_REVOKED]
    record = events[0][1]
    assert record.actor_id == alice.address and record.extra["device_id"] == "alice-phone"
    assert record.extra["serial"] == alice.serial_hex


async def test_a_forged_or_foreign_statement_is_refused(world: World) -> None:
    alice = await world.person("Alice")
    mallory = await world.person("Mallory")
    device = new_device(alice)
    forged = certify_device(device.public(), ec.generate_private_key(ec.SECP256R1()))
    response = await world.client.post(
        f"{API}/devices", json={"statement": b64(forged)}, headers=alice.headers
    )
    problem(response, 422, "instant-forged-device")
    # Alice's genuine statement presented by Mallory: not Mallory's certificate.
    response = await world.client.post(
        f"{API}/devices", json={"statement": b64(statement(alice, device))}, headers=mallory.headers
    )
    problem(response, 422, "instant-forged-device")
    # A device statement Mallory signed naming Alice: her certificate does not hold that address.
    fake = new_device(alice)
    response = await world.client.post(
        f"{API}/devices",
        json={"statement": b64(certify_device(fake.public(), mallory.key))},
        headers=mallory.headers,
    )
    problem(response, 422, "instant-forged-device")
    problem(
        await world.client.delete(f"{API}/devices/{device.device_id}", headers=mallory.headers),
        404,
        "instant-unknown-device",
    )
    assert (await world.client.get(f"{API}/devices", headers=alice.headers)).json()["devices"] == []
    assert await evidence_events(world, f"miss-device:{device.device_id}") == []


async def test_malformed_statements_and_bodies_are_clear_errors(world: World) -> None:
    alice = await world.person("Alice")
    good = statement(alice, new_device(alice))
    for bad, code in (
        ("not base64!", "instant-invalid-base64"),
        (b64(b""), "invalid-request"),
        (b64(good[:-3]), "instant-malformed"),
        (b64(good + b"\x00"), "instant-malformed"),
    ):
        body = {"statement": bad} if bad != b64(b"") else {"statement": ""}
        response = await world.client.post(f"{API}/devices", json=body, headers=alice.headers)
        assert response.json()["code"] == code, (bad, response.text)
        assert response.status_code in (400, 422)
    response = await world.client.post(
        f"{API}/devices", json={"statement": b64(good), "extra": 1}, headers=alice.headers
    )
    problem(response, 422, "invalid-request")


async def test_any_bytes_as_a_statement_are_refused_without_crashing(world: World) -> None:
    alice = await world.person("Alice")
    for data in examples(st.binary(max_size=400)):
        response = await world.client.post(
            f"{API}/devices", json={"statement": b64(data)}, headers=alice.headers
        )
        assert response.status_code in (400, 422), response.text
        assert response.json()["code"] in ("instant-malformed", "invalid-request"), data
