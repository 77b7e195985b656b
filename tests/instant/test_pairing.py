"""Pairing a browser: the request (no token, rate-limited, public keys only), its approval by
the person (fetch, register, consume), and every refusal, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from caducee.instant.device_keys import certify_device
from caducee.instant.models import Device, PairingRequest
from caducee.instant.pairing import CODE_ALPHABET, CODE_LENGTH, key_fingerprint
from tests.instant.miss import API, b64
from tests.instant.test_pairing_support import (
    approve_over_api,
    ask_pairing,
    browser_keys,
    paired_device,
    pairing_body,
)
from tests.server.conftest import World, problem


async def test_a_request_gets_a_short_unambiguous_code_and_the_approval_consumes_it(
    world: World,
) -> None:
    alice = await world.person("Alice")
    keys = browser_keys(alice.address)
    response = await world.client.post(f"{API}/pairing", json=pairing_body(keys))
    assert response.status_code == 201, response.text
    code = response.json()["code"]
    assert len(code) == CODE_LENGTH and set(code) <= set(CODE_ALPHABET)
    assert not set(code) & set("01OILUV")
    public = keys.public()
    assert response.json()["signing_fingerprint"] == key_fingerprint(public.signing_public)

    shown = await world.client.get(f"{API}/pairing/{code.lower()}", headers=alice.headers)
    assert shown.status_code == 200, shown.text
    assert shown.json()["label"] == "Téléphone de garde"
    assert shown.json()["device_id"] == public.device_id
    assert shown.json()["hpke_fingerprint"] == key_fingerprint(public.hpke_public)

    await approve_over_api(world, alice, code)
    async with world.state.database.sessions() as session:
        device = await session.get(Device, public.device_id)
        assert device is not None and bytes(device.signing_public) == public.signing_public
        assert (await session.scalars(select(PairingRequest))).all() == []
    again = await world.client.get(f"{API}/pairing/{code}", headers=alice.headers)
    problem(again, 404, "instant-pairing-unknown")


async def test_the_server_stores_public_keys_and_the_codes_digest_only(world: World) -> None:
    alice = await world.person("Alice")
    keys = browser_keys(alice.address)
    code = await ask_pairing(world.client, keys)
    async with world.state.database.sessions() as session:
        row = (await session.scalars(select(PairingRequest))).one()
    assert code not in row.code_sha256
    stored = {bytes(row.hpke_public), bytes(row.signing_public)}
    assert stored == {keys.public().hpke_public, keys.public().signing_public}


async def test_an_expired_unknown_or_someone_elses_code_is_a_clear_404(world: World) -> None:
    alice, bob = await world.person("Alice"), await world.person("Bob")
    code = await ask_pairing(world.client, browser_keys(alice.address))
    body = problem(
        await world.client.get(f"{API}/pairing/{code}", headers=bob.headers),
        404,
        "instant-pairing-unknown",
    )
    assert "inconnu ou expiré" in body["detail"] and "unknown or expired" in body["detail"]
    problem(
        await world.client.get(f"{API}/pairing/ABCDEFGH", headers=alice.headers),
        404,
        "instant-pairing-unknown",
    )
    world.clock.advance(seconds=599)
    await world.login(alice)
    ok = await world.client.get(f"{API}/pairing/{code}", headers=alice.headers)
    assert ok.status_code == 200, ok.text
    world.clock.advance(seconds=2)
    problem(
        await world.client.get(f"{API}/pairing/{code}", headers=alice.headers),
        404,
        "instant-pairing-unknown",
    )
    problem(
        await world.client.delete(f"{API}/pairing/{code}", headers=alice.headers),
        404,
        "instant-pairing-unknown",
    )


async def test_requests_are_rate_limited_per_client(world: World) -> None:
    alice = await world.person("Alice")
    world.state.extras["instant_pairing_per_minute"] = 3
    for _ in range(3):
        await ask_pairing(world.client, browser_keys(alice.address))
    refused = await world.client.post(
        f"{API}/pairing", json=pairing_body(browser_keys(alice.address))
    )
    problem(refused, 429, "instant-pairing-rate-limited")
    world.clock.advance(seconds=61)
    await ask_pairing(world.client, browser_keys(alice.address))


async def test_pending_requests_per_address_are_bounded(world: World) -> None:
    alice = await world.person("Alice")
    for _ in range(5):
        await ask_pairing(world.client, browser_keys(alice.address))
    world.clock.advance(seconds=61)  # past the per-client window, not past the 10 minutes
    refused = await world.client.post(
        f"{API}/pairing", json=pairing_body(browser_keys(alice.address))
    )
    problem(refused, 429, "instant-pairing-rate-limited")


async def test_bad_requests_are_refused(world: World) -> None:
    alice = await world.person("Alice")
    keys = browser_keys(alice.address)
    short = {**pairing_body(keys), "hpke_public": "AAAA"}
    problem(await world.client.post(f"{API}/pairing", json=short), 400, "instant-malformed")
    extra = {**pairing_body(keys), "hpke_private": "AAAA"}
    assert (await world.client.post(f"{API}/pairing", json=extra)).status_code == 422
    bad_id = {**pairing_body(keys), "device_id": "../x y"}
    assert (await world.client.post(f"{API}/pairing", json=bad_id)).status_code == 422
    kem = {**pairing_body(keys), "kem": 7}
    problem(await world.client.post(f"{API}/pairing", json=kem), 422, "instant-unsupported-suite")
    unnamed = {**pairing_body(keys), "label": "\x07\t\x1b"}  # nothing printable: no name
    problem(await world.client.post(f"{API}/pairing", json=unnamed), 400, "instant-malformed")
    taken, _ = await paired_device(world, alice)
    again = browser_keys(alice.address, taken.device_id)
    problem(
        await world.client.post(f"{API}/pairing", json=pairing_body(again)),
        409,
        "instant-device-taken",
    )


async def test_approving_needs_the_persons_agent_token(world: World) -> None:
    alice = await world.person("Alice")
    _, device_token = await paired_device(world, alice)
    code = await ask_pairing(world.client, browser_keys(alice.address))
    problem(await world.client.get(f"{API}/pairing/{code}"), 401, "unauthenticated")
    problem(await world.client.delete(f"{API}/pairing/{code}"), 401, "unauthenticated")
    as_device = {"Authorization": f"Bearer {device_token}"}
    problem(
        await world.client.get(f"{API}/pairing/{code}", headers=as_device),
        403,
        "instant-pairing-needs-person",
    )
    problem(
        await world.client.delete(f"{API}/pairing/{code}", headers=as_device),
        403,
        "instant-pairing-needs-person",
    )


async def test_the_approved_device_keeps_its_name_for_its_person_only(world: World) -> None:
    """The agent passes the request's label on; the person's listing shows it, another
    person's listing of the same devices does not (the name a person gives a phone is
    theirs). A label that is not 1 to 100 printable characters is refused, nothing stored."""
    alice = await world.person("Alice")
    bob = await world.person("Bob")
    keys = browser_keys(alice.address)
    code = await ask_pairing(world.client, keys)
    device_id = keys.public().device_id
    statement = b64(certify_device(keys.public(), alice.key))
    for bad in ("x" * 101, "salle\n2", "\x07"):
        refused = await world.client.post(
            f"{API}/devices", json={"statement": statement, "label": bad}, headers=alice.headers
        )
        problem(refused, 400, "instant-malformed")
    async with world.state.database.sessions() as session:
        assert await session.get(Device, device_id) is None

    await approve_over_api(world, alice, code)
    mine = await world.client.get(f"{API}/devices", headers=alice.headers)
    assert {d["device_id"]: d["label"] for d in mine.json()["devices"]} == {
        device_id: "Téléphone de garde"
    }
    theirs = await world.client.get(f"{API}/people/{alice.address}/devices", headers=bob.headers)
    [listed] = theirs.json()["devices"]
    assert listed["device_id"] == device_id and "label" not in listed


async def test_a_browser_name_with_control_characters_is_tidied_not_refused(world: World) -> None:
    """A browser may name itself with a line break or worse: the request keeps the name
    tidied (controls as spaces, one space between words), and the approval, which passes it
    on, is not refused for it."""
    alice = await world.person("Alice")
    keys = browser_keys(alice.address)
    body = {**pairing_body(keys), "label": "Téléphone\n de\x07garde\x1b[31m"}
    code = (await world.client.post(f"{API}/pairing", json=body)).json()["code"]
    shown = await world.client.get(f"{API}/pairing/{code}", headers=alice.headers)
    assert shown.json()["label"] == "Téléphone de garde [31m"
    await approve_over_api(world, alice, code)
    mine = (await world.client.get(f"{API}/devices", headers=alice.headers)).json()["devices"]
    assert [d["label"] for d in mine] == ["Téléphone de garde [31m"]
