"""Stopping the server: the work in hand ends first, and none of its tasks is left running.

A task cancelled in the middle of a database call makes SQLAlchemy throw its connection
away; on SQLite a second cancellation meanwhile (the event loop's own, at exit) left a task
waiting forever for aiosqlite's stopped thread, and the process never exited (seen in CI as a
test's teardown hanging). So the background work is asked to stop, not cut short.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from caducee.instant.models import CaseMessage
from tests.instant.miss import group, open_case, post, with_device
from tests.server.conftest import open_world


def _others() -> list[asyncio.Task[object]]:
    return [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]


async def test_stopping_during_a_burst_leaves_no_task_and_loses_no_post(
    migrated_url: str, tmp_path: Path
) -> None:
    before = set(_others())
    async with open_world(migrated_url, tmp_path) as world:
        alice, bob = await world.person("Alice"), await world.person("Bob")
        phone, laptop = await with_device(world, alice), await with_device(world, bob)
        case_id = (await open_case(world, alice, [bob.address]))["case_id"]
        mine, theirs = group(case_id, phone), group(case_id, laptop)
        sends = [
            post(world, alice, case_id, phone, "message", mine.encrypt(b"a")) for _ in range(20)
        ]
        sends += [
            post(world, bob, case_id, laptop, "message", theirs.encrypt(b"b")) for _ in range(20)
        ]
        replies = await asyncio.gather(*sends)
        assert all(r.status_code == 201 for r in replies)
        push = world.state.extras["instant_push_sender"]
        database = world.state.database
    # The lifespan has ended: the pushes and the fan-out in hand were finished, not cut short.
    assert push.processed == 41  # the case's opening and its 40 messages
    assert [t for t in _others() if t not in before] == []
    async with database.sessions() as session:  # closed pools reopen for this check
        assert len(list(await session.scalars(CaseMessage.__table__.select()))) == 40
    await database.close()
