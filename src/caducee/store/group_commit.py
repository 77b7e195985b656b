"""The queue behind a group commit: items wait while a commit is in flight, then the whole
queue is recorded in the next one, run whole in one worker thread.

A commit costs a disk flush, and through the async engine each statement is a hop between
the event loop and the database thread. So the relay (:mod:`caducee.relay.batching`) and the
MISS posts (:mod:`caducee.instant.post_batch`) record what arrived meanwhile together: one
transaction, one hop, one fsync. This module is the part they share: the queue, the worker
thread, one answer per item, and the fallback when the batch breaks a unique constraint
(another process recorded the same id meanwhile): each item again alone, so one duplicate
does not fail the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Generic, Protocol, TypeVar

from sqlalchemy.exc import IntegrityError

from caducee.background import finish

__all__ = ["GroupCommit", "Waiting"]

Result = TypeVar("Result")


class Waiting(Protocol[Result]):
    """An item of a batch: what it waits on."""

    @property
    def future(self) -> asyncio.Future[Result]: ...


Item = TypeVar("Item", bound=Waiting)


def settle(future: asyncio.Future[Result], outcome: Result | BaseException) -> None:
    """Give a waiter its answer, unless it went away (what was recorded stands)."""
    if future.done():
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


class GroupCommit(Generic[Item, Result]):
    """Records queued items, one ``commit`` (blocking, in the worker thread) per batch.

    ``commit`` returns one outcome per item, in order: a result, or the error that item gets.
    ``take`` says how many of the queue's first items the next batch holds (at least one);
    ``taken`` is the answer of an item alone whose commit broke a unique constraint;
    ``turn`` (:meth:`caducee.store.Database.writing`) is waited for before each commit.
    """

    def __init__(
        self,
        commit: Callable[[list[Item]], list[Result | BaseException]],
        *,
        take: Callable[[list[Item]], int],
        taken: Callable[[Item], BaseException],
        thread_name: str,
        turn: Callable[[], AbstractAsyncContextManager[None]] = nullcontext,
    ) -> None:
        self.commit = commit
        self.take = take
        self.taken = taken
        self.turn = turn
        self.batches = 0  # transactions run, for the tests and the curious
        self._queue: list[Item] = []
        self._task: asyncio.Task[None] | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=thread_name)

    async def record(self, item: Item) -> Result:
        """Wait for the commit that records ``item``; its result, or its error raised."""
        self._queue.append(item)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._drain())
        result: Result = await item.future
        return result

    @property
    def waiting(self) -> int:
        """Items queued for a later batch."""
        return len(self._queue)

    async def close(self) -> None:
        """Record what is queued, then let the worker thread end (the server is stopping:
        the database closes next, so no commit may still be running then)."""
        if self._task is not None:
            await finish([self._task])
        self._thread.shutdown(wait=False)

    async def _drain(self) -> None:
        while self._queue:
            count = max(1, self.take(self._queue))
            batch, self._queue = self._queue[:count], self._queue[count:]
            await self._record(batch)

    async def _record(self, batch: list[Item]) -> None:
        loop = asyncio.get_running_loop()
        self.batches += 1
        try:
            async with self.turn():
                outcomes = await loop.run_in_executor(self._thread, self.commit, batch)
        except IntegrityError:
            if len(batch) == 1:
                settle(batch[0].future, self.taken(batch[0]))
                return
            for item in batch:  # find the culprit: each one in its own transaction
                await self._record([item])
            return
        except BaseException as exc:  # the whole transaction failed: tell every waiter
            for item in batch:
                settle(item.future, exc)
            if not isinstance(exc, Exception):
                raise
            return
        for item, outcome in zip(batch, outcomes, strict=True):
            settle(item.future, outcome)
