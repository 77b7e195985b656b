"""The hub over a real WebSocket: authentication, resume from cursors, live fan-out of ids,
reconnection, revoked devices, bad frames; and fan-out between two server processes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.instant.hub_server import (
    device_socket,
    frame,
    other_process,
    serve,
    silent,
    until_ready,
)
from tests.instant.miss import API, group, open_case, post, with_device


async def test_resume_live_fan_out_and_reconnection(migrated_url: str, tmp_path: Path) -> None:
    async with serve(migrated_url, tmp_path / "data") as (world, url):
        alice, bob = await world.person("Alice"), await world.person("Bob")
        phone, laptop = await with_device(world, alice), await with_device(world, bob)
        case_id = (await open_case(world, alice, [bob.address]))["case_id"]
        cipher = group(case_id, phone, laptop)
        for text in (b"un", b"deux"):
            await post(world, alice, case_id, phone, "message", cipher.encrypt(text))

        async with device_socket(url, bob.token, laptop.device_id) as socket:
            resumed, ready = await until_ready(socket)
            assert [(f["case_id"], f["sequence"]) for f in resumed] == [(case_id, 1), (case_id, 2)]
            assert ready == {"type": "ready", "cases": {case_id: 2}}
            sent = await post(world, alice, case_id, phone, "message", cipher.encrypt(b"trois"))
            live = await frame(socket)
            assert live == {
                "type": "message",
                "case_id": case_id,
                "sequence": 3,
                "message_id": json.loads(sent.request.content)["message_id"],
            }
            await socket.send(json.dumps({"type": "ping"}))
            assert await frame(socket) == {"type": "pong"}

        for text in (b"quatre", b"cinq"):  # Bob is away
            await post(world, alice, case_id, phone, "message", cipher.encrypt(text))
        async with device_socket(url, bob.token, laptop.device_id, {case_id: 3}) as socket:
            resumed, ready = await until_ready(socket)
            assert [f["sequence"] for f in resumed] == [4, 5]
            assert ready["cases"] == {case_id: 5}
            assert await silent(socket)


async def test_ids_go_only_to_participants_and_their_own_key_distributions(
    migrated_url: str, tmp_path: Path
) -> None:
    async with serve(migrated_url, tmp_path / "data") as (world, url):
        alice, bob, eve = [await world.person(n) for n in ("Alice", "Bob", "Eve")]
        phone, laptop, eves = [await with_device(world, p) for p in (alice, bob, eve)]
        tablet = await with_device(world, bob)
        case_id = (await open_case(world, alice, [bob.address]))["case_id"]
        cipher = group(case_id, phone, laptop, tablet)
        async with (
            device_socket(url, bob.token, laptop.device_id) as bobs,
            device_socket(url, eve.token, eves.device_id) as outsider,
        ):
            await until_ready(bobs)
            assert (await until_ready(outsider))[1]["cases"] == {}
            keys = {d.recipient_device_id: d.payload for d in cipher.distributions()}
            await post(world, alice, case_id, phone, "key", keys[tablet.device_id])
            await post(world, alice, case_id, phone, "key", keys[laptop.device_id])
            assert (await frame(bobs))["sequence"] == 2  # not the tablet's key
            assert await silent(outsider)


async def test_refused_hellos_and_bad_frames(migrated_url: str, tmp_path: Path) -> None:
    async with serve(migrated_url, tmp_path / "data") as (world, url):
        alice = await world.person("Alice")
        phone = await with_device(world, alice)
        for token, device, code in (
            (None, phone.device_id, 4401),
            ("not-a-token", phone.device_id, 4401),
            (alice.token, "someone-elses", 4404),
        ):
            async with device_socket(url, token, device) as socket:
                with pytest.raises(ConnectionClosed) as closed:
                    await frame(socket)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == code

        async with connect(url, proxy=None) as socket:
            await socket.send(json.dumps({"type": "ping"}))  # no hello first
            with pytest.raises(ConnectionClosed) as closed:
                await frame(socket)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400

        async with device_socket(url, alice.token, phone.device_id) as socket:
            await until_ready(socket)
            for bad in ("{", "[]", '{"type":"hello"}', '{"type":"ping","x":1}', "x" * 70000):
                await socket.send(bad)
                reply = await frame(socket)
                assert reply["type"] == "error" and reply["code"].startswith("instant-")
            await socket.send(json.dumps({"type": "ping"}))
            assert await frame(socket) == {"type": "pong"}  # the hub is still there


async def test_a_device_revoked_while_connected_receives_nothing_more(
    migrated_url: str, tmp_path: Path
) -> None:
    async with serve(migrated_url, tmp_path / "data") as (world, url):
        alice, bob = await world.person("Alice"), await world.person("Bob")
        phone, laptop = await with_device(world, alice), await with_device(world, bob)
        case_id = (await open_case(world, alice, [bob.address]))["case_id"]
        cipher = group(case_id, phone)
        async with device_socket(url, bob.token, laptop.device_id) as socket:
            await until_ready(socket)
            await world.client.delete(f"{API}/devices/{laptop.device_id}", headers=bob.headers)
            await post(world, alice, case_id, phone, "message", cipher.encrypt(b"secret"))
            with pytest.raises(ConnectionClosed) as closed:
                await frame(socket)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
        async with device_socket(url, bob.token, laptop.device_id) as socket:
            with pytest.raises(ConnectionClosed) as closed:
                await frame(socket)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_a_connection_ends_with_its_token(migrated_url: str, tmp_path: Path) -> None:
    async with serve(migrated_url, tmp_path / "data") as (world, url):
        alice, bob = await world.person("Alice"), await world.person("Bob")
        phone, laptop = await with_device(world, alice), await with_device(world, bob)
        case_id = (await open_case(world, alice, [bob.address]))["case_id"]
        async with device_socket(url, bob.token, laptop.device_id) as socket:
            await until_ready(socket)
            world.clock.advance(minutes=16)
            await world.login(alice)
            await post(world, alice, case_id, phone, "message", group(case_id, phone).encrypt(b"x"))
            with pytest.raises(ConnectionClosed) as closed:
                await frame(socket)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_a_removed_participant_connected_gets_nothing_more(
    migrated_url: str, tmp_path: Path
) -> None:
    async with serve(migrated_url, tmp_path / "data") as (world, url):
        alice, bob = await world.person("Alice"), await world.person("Bob")
        phone, laptop = await with_device(world, alice), await with_device(world, bob)
        case_id = (await open_case(world, alice, [bob.address]))["case_id"]
        cipher = group(case_id, phone)
        async with device_socket(url, bob.token, laptop.device_id) as socket:
            await until_ready(socket)
            await post(world, alice, case_id, phone, "message", cipher.encrypt(b"avant"))
            assert (await frame(socket))["sequence"] == 1
            await world.client.delete(
                f"{API}/cases/{case_id}/participants/{bob.address}", headers=alice.headers
            )
            await post(world, alice, case_id, phone, "message", cipher.encrypt(b"apres"))
            assert await silent(socket, 0.5)


async def test_a_case_and_its_escalation_reach_connected_devices_live(
    migrated_url: str, tmp_path: Path
) -> None:
    from tests.instant.test_routing_escalation import staffed

    async with serve(migrated_url, tmp_path / "data") as (world, url):
        role, primary, backup = await staffed(world)
        gp = await world.person("Generaliste")
        on_duty, standby = await with_device(world, primary), await with_device(world, backup)
        async with (
            device_socket(url, primary.token, on_duty.device_id) as first,
            device_socket(url, backup.token, standby.device_id) as second,
        ):
            await until_ready(first)
            await until_ready(second)
            case_id = (await open_case(world, gp, [], role=role))["case_id"]
            assert await frame(first) == {"type": "case", "case_id": case_id, "last_sequence": 0}
            assert await silent(second)  # not reached yet
            world.clock.advance(seconds=601)
            assert await world.state.extras["instant_escalator"].run_due() == 1
            assert await frame(second) == {"type": "case", "case_id": case_id, "last_sequence": 0}


@pytest.mark.postgres
async def test_fan_out_between_two_server_processes_on_postgresql(
    postgres_migrated: str, tmp_path: Path
) -> None:
    from tests.server.conftest import _truncate_all

    _truncate_all(postgres_migrated)
    data = tmp_path / "data"
    async with serve(postgres_migrated, data) as (world, _):
        alice, bob = await world.person("Alice"), await world.person("Bob")
        phone, laptop = await with_device(world, alice), await with_device(world, bob)
        case_id = (await open_case(world, alice, [bob.address]))["case_id"]
        cipher = group(case_id, phone)
        async with (
            other_process(postgres_migrated, data) as url,
            device_socket(url, bob.token, laptop.device_id) as socket,
        ):
            assert (await until_ready(socket))[1]["cases"] == {case_id: 0}
            for n in range(1, 4):  # posted to process 1, pushed by process 2
                await post(world, alice, case_id, phone, "message", cipher.encrypt(b"x"))
                assert (await frame(socket))["sequence"] == n


async def test_ids_announced_out_of_order_all_arrive(migrated_url: str, tmp_path: Path) -> None:
    """Posts commit in sequence order but may be announced in another (two requests racing):
    the later announcement brings the earlier id along, and the earlier one is not sent twice."""
    async with serve(migrated_url, tmp_path / "data") as (world, url):
        alice, bob = await world.person("Alice"), await world.person("Bob")
        phone, laptop = await with_device(world, alice), await with_device(world, bob)
        case_id = (await open_case(world, alice, [bob.address]))["case_id"]
        cipher = group(case_id, phone, laptop)
        async with device_socket(url, bob.token, laptop.device_id) as socket:
            await until_ready(socket)
            bus = world.state.extras["instant_bus"]
            held: list[tuple[str, int]] = []

            class Holding:  # the announcements wait here, to be made in reverse order
                async def publish(self, case: str, sequence: int) -> None:
                    held.append((case, sequence))

            world.state.extras["instant_bus"] = Holding()
            try:
                for text in (b"un", b"deux"):
                    await post(world, alice, case_id, phone, "message", cipher.encrypt(text))
            finally:
                world.state.extras["instant_bus"] = bus
            assert held == [(case_id, 1), (case_id, 2)]
            for case, sequence in reversed(held):
                await bus.publish(case, sequence)
            assert [(await frame(socket))["sequence"] for _ in range(2)] == [1, 2]
            assert await silent(socket)


async def test_a_burst_arrives_once_each_and_in_order(migrated_url: str, tmp_path: Path) -> None:
    """Events that come while the hub is fanning out go out together: every id still reaches
    each connection once, in sequence order, with someone joining the case mid-burst."""
    async with serve(migrated_url, tmp_path / "data") as (world, url):
        alice, bob = await world.person("Alice"), await world.person("Bob")
        carol = await world.person("Carol")
        phone, laptop = await with_device(world, alice), await with_device(world, bob)
        tablet = await with_device(world, carol)
        case_id = (await open_case(world, alice, [bob.address]))["case_id"]
        cipher = group(case_id, phone, laptop)
        texts = [cipher.encrypt(f"rafale {n}".encode()) for n in range(30)]
        async with (
            device_socket(url, bob.token, laptop.device_id) as bobs,
            device_socket(url, carol.token, tablet.device_id) as carols,
        ):
            await until_ready(bobs)
            await until_ready(carols)
            answers = await asyncio.gather(
                *(post(world, alice, case_id, phone, "message", t) for t in texts),
                world.client.post(
                    f"{API}/cases/{case_id}/participants",
                    json={"participants": [carol.address]},
                    headers=alice.headers,
                ),
            )
            assert [a.status_code for a in answers] == [201] * 30 + [200], answers[-1].text
            bobs_frames = await drain(bobs)
            messages = [f["sequence"] for f in bobs_frames if f["type"] == "message"]
            assert messages == list(range(1, 31))
            # Carol joined: Bob and Carol (both online, sharing a case now) learn of each other.
            presence = [f for f in bobs_frames if f["type"] == "presence"]
            assert presence == [{"type": "presence", "address": carol.address, "online": True}]
            # Carol joined during the burst: the case, or the ids posted once she was in it
            # (whichever the hub saw first), each once and in order, up to the last.
            carols_frames = await drain(carols)
            seen = [
                f["last_sequence"] if f["type"] == "case" else f["sequence"]
                for f in carols_frames
                if f["type"] != "presence"
            ]
            assert seen and seen == sorted(set(seen)) and seen[-1] == 30
            assert [f for f in carols_frames if f["type"] == "presence"] == [
                {"type": "presence", "address": bob.address, "online": True}
            ]


async def drain(socket: ClientConnection, quiet: float = 1.0) -> list[dict[str, Any]]:
    """Every frame until none comes for ``quiet`` seconds."""
    frames = []
    while True:
        try:
            frames.append(json.loads(await asyncio.wait_for(socket.recv(), quiet)))
        except TimeoutError:
            return frames
