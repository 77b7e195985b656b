"""How a new case message reaches the hubs of every server process: ids only.

An event is ``(case id, sequence)``; each hub reads the rest from the database, with the
reader's rights. One process (SQLite, the embedded default) uses :class:`InProcessBus`;
several processes on PostgreSQL use :class:`PostgresBus`, a ``NOTIFY`` on one channel and a
``LISTEN`` connection per process (DESIGN.md §5). Events are published after the commit; a
lost event only delays a device until it resumes from its cursors.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator
from typing import Any, Protocol

__all__ = ["CHANNEL", "CaseBus", "InProcessBus", "PostgresBus", "by_case", "parse_event"]

log = logging.getLogger(__name__)
CHANNEL = "caducee_instant"
QUEUE_SIZE = 10_000
_EVENT = re.compile(r"([0-9a-f-]{1,36}) (0|[1-9][0-9]{0,9})")

Event = tuple[str, int]


def by_case(events: list[Event]) -> dict[str, list[int]]:
    """Events taken together, grouped by case (in the order each case first came)."""
    grouped: dict[str, list[int]] = {}
    for case_id, sequence in events:
        grouped.setdefault(case_id, []).append(sequence)
    return grouped


def parse_event(payload: str) -> Event | None:
    """``"<case id> <sequence>"``, or None for anything else (never raises)."""
    match = _EVENT.fullmatch(payload) if isinstance(payload, str) else None
    return (match.group(1), int(match.group(2))) if match else None


class CaseBus(Protocol):
    async def publish(self, case_id: str, sequence: int) -> None: ...

    def subscribe(self) -> AsyncIterator[Event]: ...

    async def close(self) -> None: ...


class _Fanout:
    """The subscribers of one process: a bounded queue each (a full one drops, logged)."""

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[Event]] = set()

    def deliver(self, event: Event) -> None:
        for queue in list(self._queues):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                log.warning("instant bus subscriber full: event for case %s dropped", event[0])

    async def subscribe(self) -> AsyncIterator[Event]:
        queue: asyncio.Queue[Event] = asyncio.Queue(QUEUE_SIZE)
        self._queues.add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._queues.discard(queue)


class InProcessBus:
    def __init__(self) -> None:
        self._fanout = _Fanout()

    async def publish(self, case_id: str, sequence: int) -> None:
        self._fanout.deliver((case_id, sequence))

    def subscribe(self) -> AsyncIterator[Event]:
        return self._fanout.subscribe()

    async def close(self) -> None:
        return None


class PostgresBus:
    """LISTEN/NOTIFY on ``CHANNEL``: one listening and one sending connection per process."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._fanout = _Fanout()
        self._listen: Any = None
        self._send: Any = None
        self._send_lock = asyncio.Lock()
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        import psycopg

        self._listen = await psycopg.AsyncConnection.connect(self._dsn, autocommit=True)
        self._send = await psycopg.AsyncConnection.connect(self._dsn, autocommit=True)
        await self._listen.execute(f"LISTEN {CHANNEL}")
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        async for notify in self._listen.notifies():
            event = parse_event(notify.payload)
            if event is None:
                log.warning("instant bus: a malformed notification ignored")
                continue
            self._fanout.deliver(event)

    async def publish(self, case_id: str, sequence: int) -> None:
        async with self._send_lock:
            await self._send.execute("SELECT pg_notify(%s, %s)", (CHANNEL, f"{case_id} {sequence}"))

    def subscribe(self) -> AsyncIterator[Event]:
        return self._fanout.subscribe()

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        for connection in (self._listen, self._send):
            if connection is not None:
                with contextlib.suppress(Exception):
                    await connection.close()
