"""SQLite writers take turns in the process (``Database.writing``): the next one starts as
the previous one commits, instead of sleeping in SQLite's busy handler; PostgreSQL writers
do not queue; nothing here can deadlock."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

import caducee.store.database as database_module
from caducee.store import Database
from caducee.store.group_commit import GroupCommit
from caducee.store.models import IssuedCertificate
from tests.store.samples import certificate_row

HOLD = 0.4  # how long the first writer keeps its transaction open


def _certificate(serial: str) -> IssuedCertificate:
    return certificate_row(serial, serial * 32)


async def _write_and_hold(database: Database, serial: str, started: asyncio.Event) -> float:
    """Write a row, keep the transaction open for ``HOLD`` seconds; when it committed."""
    async with database.transaction() as session:
        session.add(_certificate(serial))
        await session.flush()
        started.set()
        await asyncio.sleep(HOLD)
    return time.monotonic()


async def _write_once(database: Database, serial: str) -> tuple[float, float]:
    """Write a row; (when its transaction began, when it committed)."""
    async with database.transaction() as session:
        began = time.monotonic()
        session.add(_certificate(serial))
    return began, time.monotonic()


async def _serials(database: Database) -> list[str]:
    async with database.sessions() as session:
        return sorted((await session.scalars(select(IssuedCertificate.serial_hex))).all())


async def test_a_second_writer_begins_when_the_first_commits(database: Database) -> None:
    """On SQLite the second transaction begins only after the first committed (its turn);
    on PostgreSQL it begins at once (other rows, no lock between them)."""
    started = asyncio.Event()
    first = asyncio.create_task(_write_and_hold(database, "a1", started))
    await started.wait()
    asked = time.monotonic()
    began, _ = await _write_once(database, "b2")
    committed = await first
    if database.dialect == "sqlite":
        assert began >= committed
    else:
        assert began - asked < HOLD / 2 and began < committed
    assert await _serials(database) == ["a1", "b2"]


async def test_a_nested_transaction_of_the_same_task_does_not_wait_for_itself(
    database: Database,
) -> None:
    async with database.transaction() as outer:
        outer.add(_certificate("c3"))
        await outer.flush()
        began = time.monotonic()
        async with database.transaction() as inner:  # reads only: SQLite lets it through
            await inner.scalar(select(IssuedCertificate.serial_hex).limit(1))
        assert time.monotonic() - began < 1.0  # not the 5 s of a writer's patience
    assert await _serials(database) == ["c3"]


async def test_a_writer_kept_waiting_too_long_goes_on_and_says_so(
    database: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Whatever holds the turn (here a task that never gives it back), a writer waits at
    most its patience, then goes on: SQLite's own busy timeout orders it from there."""
    if database.dialect != "sqlite":
        pytest.skip("PostgreSQL writers take no turn")
    monkeypatch.setattr(database_module, "WRITER_PATIENCE_SECONDS", 0.2)
    release = asyncio.Event()

    async def hold_the_turn_without_writing() -> None:
        async with database.writing():
            await release.wait()

    holder = asyncio.create_task(hold_the_turn_without_writing())
    await asyncio.sleep(0.05)
    began = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="caducee.store.database"):
        await _write_once(database, "d4")
    assert 0.15 < time.monotonic() - began < 3
    assert "waited" in caplog.text
    release.set()
    await holder
    assert await _serials(database) == ["d4"]


@dataclass
class _Item:
    name: str
    future: asyncio.Future[float] = field(repr=False)


async def test_a_group_commit_takes_its_turn_too(database: Database) -> None:
    """The relay's and MISS's group commits wait for the writer in flight (SQLite), then
    commit in their thread; on PostgreSQL they do not wait."""
    committed_at: list[float] = []

    def commit(batch: list[_Item]) -> list[float | BaseException]:
        committed_at.append(time.monotonic())
        return [committed_at[-1] for _ in batch]

    queue: GroupCommit[_Item, float] = GroupCommit(
        commit,
        take=len,
        taken=lambda item: RuntimeError(item.name),
        thread_name="test-turns",
        turn=database.writing,
    )
    started = asyncio.Event()
    writer = asyncio.create_task(_write_and_hold(database, "e5", started))
    await started.wait()
    loop = asyncio.get_running_loop()
    when = await queue.record(_Item("x", loop.create_future()))
    released = await writer
    await queue.close()
    if database.dialect == "sqlite":
        assert when >= released
    else:
        assert when < released
