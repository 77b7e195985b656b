"""Device login: a paired browser signs a challenge with its Ed25519 key and gets a token valid
for the instant API and its hub only; refusals (bad signature, reused or expired challenge,
unknown or revoked device), the scope, and revocation; on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed

from caducee.server.instant_login import LOGIN_CONTEXT, device_of_token
from tests.instant.hub_server import device_socket, frame, serve, until_ready
from tests.instant.miss import API, b64, group, open_case, post, with_device
from tests.instant.test_pairing_support import browser_keys, device_login, paired_device
from tests.server.conftest import World, problem


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_paired_device_logs_in_and_uses_the_instant_api(world: World) -> None:
    alice, bob = await world.person("Alice"), await world.person("Bob")
    keys, token = await paired_device(world, alice)
    assert token.startswith("miss-device.")
    cases = await world.client.get(f"{API}/cases", headers=bearer(token))
    assert cases.status_code == 200, cases.text
    created = await world.client.post(
        f"{API}/cases", json={"participants": [bob.address]}, headers=bearer(token)
    )
    assert created.status_code == 201, created.text
    assert created.json()["created_by"] == alice.address
    assert bob.address in created.json()["participants"]
    devices = await world.client.get(f"{API}/people/{bob.address}/devices", headers=bearer(token))
    assert devices.status_code == 200, devices.text
    mine = await world.client.get(f"{API}/devices", headers=bearer(token))
    assert [d["device_id"] for d in mine.json()["devices"]] == [keys.device_id]


async def test_a_device_token_is_refused_outside_the_instant_api(world: World) -> None:
    alice = await world.person("Alice")
    _, token = await paired_device(world, alice)
    for method, path in (
        ("GET", "/api/v1/mailbox/messages"),
        ("GET", "/api/v1/mailbox/wait"),
        ("POST", "/api/v1/messages"),
        ("POST", "/api/v1/certificates/renew"),
        ("GET", f"/api/v1/directory/mailboxes/{alice.address}/certificates"),
    ):
        response = await world.client.request(method, path, headers=bearer(token))
        problem(response, 403, "device-token-out-of-scope")
    # the person's own token still works there
    assert (
        await world.client.get("/api/v1/mailbox/messages", headers=alice.headers)
    ).status_code == 200


async def test_login_refusals(world: World) -> None:
    alice = await world.person("Alice")
    keys, _ = await paired_device(world, alice)
    client = world.client

    async def challenge(device_id: str) -> str:
        answer = await client.post(f"{API}/devices/login/challenge", json={"device_id": device_id})
        value: str = answer.json()["challenge"]
        return value

    async def attempt(device_id: str, value: str, signature: bytes) -> None:
        body = {"device_id": device_id, "challenge": value, "signature": b64(signature)}
        problem(
            await client.post(f"{API}/devices/login", json=body),
            401,
            "instant-device-login-failed",
        )

    value = await challenge(keys.device_id)
    await attempt(keys.device_id, value, keys.sign(value.encode()))  # no context: refused
    value = await challenge(keys.device_id)  # the refused one is spent
    other = browser_keys(alice.address)
    await attempt(keys.device_id, value, other.sign((LOGIN_CONTEXT + value).encode()))
    value = await challenge(keys.device_id)
    good = keys.sign((LOGIN_CONTEXT + value).encode())
    ok = await client.post(
        f"{API}/devices/login",
        json={"device_id": keys.device_id, "challenge": value, "signature": b64(good)},
    )
    assert ok.status_code == 200, ok.text
    await attempt(keys.device_id, value, good)  # used once
    value = await challenge("someone-else")
    await attempt(keys.device_id, value, keys.sign((LOGIN_CONTEXT + value).encode()))
    value = await challenge(keys.device_id)
    world.clock.advance(seconds=121)
    await attempt(keys.device_id, value, keys.sign((LOGIN_CONTEXT + value).encode()))
    unknown = browser_keys(alice.address)
    value = await challenge(unknown.device_id)
    await attempt(unknown.device_id, value, unknown.sign((LOGIN_CONTEXT + value).encode()))


async def test_no_token_an_agent_token_and_an_expired_device_token(world: World) -> None:
    alice = await world.person("Alice")
    _, token = await paired_device(world, alice)
    problem(await world.client.get(f"{API}/cases"), 401, "unauthenticated")
    assert (await world.client.get(f"{API}/cases", headers=alice.headers)).status_code == 200
    world.clock.advance(minutes=16)
    problem(await world.client.get(f"{API}/cases", headers=bearer(token)), 401, "token-expired")
    problem(
        await world.client.get(f"{API}/cases", headers=bearer("miss-device.forged")),
        401,
        "unauthenticated",
    )


async def test_a_revoked_device_cannot_log_in_and_its_token_stops(world: World) -> None:
    alice = await world.person("Alice")
    keys, token = await paired_device(world, alice)
    revoked = await world.client.delete(f"{API}/devices/{keys.device_id}", headers=alice.headers)
    assert revoked.json()["revoked"] is True
    problem(await device_login(world.client, keys), 403, "instant-device-revoked")
    world.clock.advance(seconds=6)  # past the 5 s authentication cache
    problem(await world.client.get(f"{API}/cases", headers=bearer(token)), 401, "unauthenticated")


async def test_the_hub_takes_a_device_token_and_closes_a_revoked_devices_socket(
    migrated_url: str, tmp_path: Path
) -> None:
    async with serve(migrated_url, tmp_path / "data") as (world, url):
        alice, bob = await world.person("Alice"), await world.person("Bob")
        phone = await with_device(world, alice)
        browser, token = await paired_device(world, bob)
        case_id = (await open_case(world, alice, [bob.address]))["case_id"]
        cipher = group(case_id, phone)
        async with device_socket(url, token, browser.device_id) as socket:
            await until_ready(socket)
            await post(world, alice, case_id, phone, "message", cipher.encrypt(b"synthetic"))
            assert (await frame(socket))["type"] == "message"
            await world.client.delete(f"{API}/devices/{browser.device_id}", headers=bob.headers)
            await post(world, alice, case_id, phone, "message", cipher.encrypt(b"after"))
            with pytest.raises(ConnectionClosed) as closed:
                await frame(socket)
            assert closed.value.rcvd is not None and closed.value.rcvd.code in (4401, 4403)


async def test_challenges_are_rate_limited_per_client(world: World) -> None:
    world.state.extras["instant_login_per_minute"] = 2
    for _ in range(2):
        answer = await world.client.post(
            f"{API}/devices/login/challenge", json={"device_id": "any-device"}
        )
        assert answer.status_code == 200, answer.text
    refused = await world.client.post(
        f"{API}/devices/login/challenge", json={"device_id": "any-device"}
    )
    problem(refused, 429, "instant-login-rate-limited")
    world.clock.advance(seconds=61)
    again = await world.client.post(
        f"{API}/devices/login/challenge", json={"device_id": "any-device"}
    )
    assert again.status_code == 200, again.text


async def test_a_device_token_names_its_device(world: World) -> None:
    alice = await world.person("Alice")
    keys, token = await paired_device(world, alice)
    assert await device_of_token(world.state, token) == keys.device_id
    assert await device_of_token(world.state, alice.token) is None
    assert await device_of_token(world.state, "miss-device.unknown") is None


async def test_a_device_token_speaks_only_for_its_device_on_the_hub(
    migrated_url: str, tmp_path: Path
) -> None:
    """A browser's token cannot say hello as another device of the same person."""
    async with serve(migrated_url, tmp_path / "data") as (world, url):
        alice = await world.person("Alice")
        phone = await with_device(world, alice)
        _, token = await paired_device(world, alice)
        async with device_socket(url, token, phone.device_id) as socket:
            with pytest.raises(ConnectionClosed) as closed:
                await frame(socket)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
            assert closed.value.rcvd.reason == "instant-device-mismatch"
