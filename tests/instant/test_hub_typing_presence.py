"""Typing and presence on the hub, over a real WebSocket: relayed only to the others of a
case, refused to an outsider exactly as an unknown case, throttled against a flood, seen
online/offline only by people sharing a case, and never stored.

SYNTHETIC TEST MATERIAL: invented people.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from websockets.asyncio.client import ClientConnection

from caducee.server.instant_hub import TYPING_BURST
from caducee.store.models import Base
from tests.instant.hub_server import device_socket, frame, serve, silent, until_ready
from tests.instant.miss import group, open_case, post, with_device
from tests.server.conftest import World


def typing(case_id: str) -> str:
    return json.dumps({"type": "typing", "case_id": case_id})


def presence(address: str, online: bool) -> dict[str, Any]:
    return {"type": "presence", "address": address, "online": online}


async def drain(socket: ClientConnection, quiet: float = 0.5) -> list[dict[str, Any]]:
    """Every frame until none comes for ``quiet`` seconds."""
    frames = []
    while True:
        try:
            frames.append(json.loads(await asyncio.wait_for(socket.recv(), quiet)))
        except TimeoutError:
            return frames


async def row_counts(world: World) -> dict[str, int]:
    """The number of rows of every table of the database."""
    counts = {}
    async with world.state.database.sessions() as session:
        for table in Base.metadata.sorted_tables:
            counts[table.name] = int(
                await session.scalar(select(func.count()).select_from(table)) or 0
            )
    return counts


async def test_typing_reaches_the_others_of_the_case_only(
    migrated_url: str, tmp_path: Path
) -> None:
    async with serve(migrated_url, tmp_path / "data") as (world, url):
        alice, bob, eve = [await world.person(n) for n in ("Alice", "Bob", "Eve")]
        phone, desk = await with_device(world, alice), await with_device(world, alice)
        laptop, tablet = await with_device(world, bob), await with_device(world, bob)
        eves = await with_device(world, eve)
        case_id = (await open_case(world, alice, [bob.address]))["case_id"]
        async with (
            device_socket(url, alice.token, phone.device_id) as alices,
            device_socket(url, alice.token, desk.device_id) as alices_desk,
            device_socket(url, bob.token, laptop.device_id) as bobs,
            device_socket(url, bob.token, tablet.device_id) as bobs_tablet,
            device_socket(url, eve.token, eves.device_id) as outsider,
        ):
            sockets = (alices, alices_desk, bobs, bobs_tablet, outsider)
            for socket in sockets:
                await until_ready(socket)
            for socket in sockets:
                await drain(socket, 0.3)  # the presence frames of the arrivals
            before = await row_counts(world)

            await alices.send(typing(case_id))
            relayed = {"type": "typing", "case_id": case_id, "address": alice.address}
            assert await frame(bobs) == relayed
            assert await frame(bobs_tablet) == relayed
            assert await silent(alices) and await silent(alices_desk)  # not to her own
            assert await silent(outsider)

            await bobs.send(typing(case_id))
            back = {"type": "typing", "case_id": case_id, "address": bob.address}
            assert await frame(alices) == back and await frame(alices_desk) == back
            assert await silent(bobs_tablet) and await silent(outsider)
            # Ephemeral: not a row anywhere (no message, no evidence, no cursor).
            assert await row_counts(world) == before


async def test_an_outsiders_typing_is_refused_as_an_unknown_case(
    migrated_url: str, tmp_path: Path
) -> None:
    async with serve(migrated_url, tmp_path / "data") as (world, url):
        alice, bob, eve = [await world.person(n) for n in ("Alice", "Bob", "Eve")]
        laptop, eves = await with_device(world, bob), await with_device(world, eve)
        case_id = (await open_case(world, alice, [bob.address]))["case_id"]
        async with (
            device_socket(url, bob.token, laptop.device_id) as bobs,
            device_socket(url, eve.token, eves.device_id) as outsider,
        ):
            await until_ready(bobs)
            await until_ready(outsider)
            await outsider.send(typing(case_id))
            refused = await frame(outsider)
            await outsider.send(typing(str(uuid.uuid4())))
            unknown = await frame(outsider)
            await outsider.send(typing("pas-un-dossier" * 9))
            odd = await frame(outsider)
            assert refused == unknown == odd  # the outsider learns nothing, not even "it exists"
            assert refused["type"] == "error" and refused["code"] == "instant-case-not-found"
            assert await silent(bobs)
            await outsider.send(json.dumps({"type": "ping"}))
            assert await frame(outsider) == {"type": "pong"}  # still connected


async def test_a_typing_flood_is_throttled_and_messages_still_flow(
    migrated_url: str, tmp_path: Path
) -> None:
    async with serve(migrated_url, tmp_path / "data") as (world, url):
        alice, bob = await world.person("Alice"), await world.person("Bob")
        phone, laptop = await with_device(world, alice), await with_device(world, bob)
        case_id = (await open_case(world, alice, [bob.address]))["case_id"]
        async with (
            device_socket(url, alice.token, phone.device_id) as alices,
            device_socket(url, bob.token, laptop.device_id) as bobs,
        ):
            await until_ready(alices)
            await until_ready(bobs)
            await drain(alices, 0.3)
            await drain(bobs, 0.3)
            started = asyncio.get_running_loop().time()
            for _ in range(500):
                await bobs.send(typing(case_id))
            await bobs.send(json.dumps({"type": "ping"}))
            assert await frame(bobs) == {"type": "pong"}  # every frame read, none refused
            elapsed = asyncio.get_running_loop().time() - started
            arrived = await drain(alices)
            assert {f["type"] for f in arrived} == {"typing"}
            assert 1 <= len(arrived) <= TYPING_BURST + int(elapsed) + 1, (len(arrived), elapsed)

            cipher = group(case_id, phone, laptop)
            await post(world, alice, case_id, phone, "message", cipher.encrypt(b"toujours"))
            assert (await frame(bobs))["sequence"] == 1


async def test_presence_is_seen_by_people_sharing_a_case_only(
    migrated_url: str, tmp_path: Path
) -> None:
    async with serve(migrated_url, tmp_path / "data") as (world, url):
        alice, bob, eve = [await world.person(n) for n in ("Alice", "Bob", "Eve")]
        phone, eves = await with_device(world, alice), await with_device(world, eve)
        laptop, tablet = await with_device(world, bob), await with_device(world, bob)
        await open_case(world, alice, [bob.address])
        async with (
            device_socket(url, alice.token, phone.device_id) as alices,
            device_socket(url, eve.token, eves.device_id) as stranger,
        ):
            await until_ready(alices)
            await until_ready(stranger)
            assert await silent(alices) and await silent(stranger)  # Alice, Eve: no case
            before = await row_counts(world)
            async with device_socket(url, bob.token, laptop.device_id) as bobs:
                await until_ready(bobs)
                assert await frame(bobs) == presence(alice.address, True)  # who is here
                assert await frame(alices) == presence(bob.address, True)
                async with device_socket(url, bob.token, tablet.device_id) as bobs_tablet:
                    await until_ready(bobs_tablet)
                    assert await frame(bobs_tablet) == presence(alice.address, True)
                    assert await silent(alices)  # Bob's second device: still just "online"
                assert await silent(alices)  # one device left: still online
            assert await frame(alices) == presence(bob.address, False)
            assert await silent(stranger, 0.5)  # never a word about Alice or Bob
            assert await row_counts(world) == before


async def test_people_added_to_a_case_see_each_other_online(
    migrated_url: str, tmp_path: Path
) -> None:
    async with serve(migrated_url, tmp_path / "data") as (world, url):
        alice, bob = await world.person("Alice"), await world.person("Bob")
        phone, laptop = await with_device(world, alice), await with_device(world, bob)
        async with (
            device_socket(url, alice.token, phone.device_id) as alices,
            device_socket(url, bob.token, laptop.device_id) as bobs,
        ):
            await until_ready(alices)
            await until_ready(bobs)
            assert await silent(alices) and await silent(bobs)
            case_id = (await open_case(world, alice, [bob.address]))["case_id"]
            got = await drain(bobs)
            assert {"type": "case", "case_id": case_id, "last_sequence": 0} in got
            assert presence(alice.address, True) in got
            assert presence(bob.address, True) in await drain(alices)
