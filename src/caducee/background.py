"""Work running in the event loop beside the requests, and how it stops without harm.

The gateway's queues, the trust list's refresh, the sweeps, the escalations and the MISS
hub each run such work from the server's lifespan. Cancelling a task in the middle of a
database call is not harmless: SQLAlchemy then throws its connection away, and with
aiosqlite a second cancellation during that (the event loop's own at shutdown) leaves a task
waiting forever for a database thread that has already stopped, so the server never exits.
So work is asked to stop at its next pause, and cancelled only once ``grace`` has passed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Collection, Coroutine
from typing import Any

__all__ = ["GRACE_SECONDS", "BackgroundLoop", "finish"]

log = logging.getLogger(__name__)

#: How long stopping waits for work in hand before cancelling it.
GRACE_SECONDS = 10.0


async def finish(tasks: Collection[asyncio.Task[Any]], grace: float = GRACE_SECONDS) -> None:
    """Wait for ``tasks`` to end; those still running after ``grace`` seconds are cancelled."""
    pending = {task for task in tasks if not task.done()}
    if not pending:
        return
    _, late = await asyncio.wait(pending, timeout=grace)
    for task in late:
        log.warning("%s still running after %.0f s: cancelled", task.get_name(), grace)
        task.cancel()
    for task in pending:
        try:
            await task
        except asyncio.CancelledError:
            pass
        except Exception:  # the work's own failure: said, and the stop goes on
            log.exception("%s failed", task.get_name())


class BackgroundLoop:
    """One named task that works and pauses in turn, until :meth:`stop`.

    The loop's body ends when :meth:`pause` returns False; :meth:`stop` makes the current
    pause (or the next one) return at once, then waits for the body to end. :meth:`wake`
    ends a pause early (new work arrived) without stopping.
    """

    def __init__(self, name: str, *, grace: float = GRACE_SECONDS) -> None:
        self.name = name
        self.grace = grace
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._bell = asyncio.Event()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self, loop: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run ``loop()`` unless it already runs."""
        if self._task is None:
            self._stopping = False
            self._bell.clear()
            self._task = asyncio.create_task(loop(), name=self.name)

    def wake(self) -> None:
        """End the current pause now (or skip the next one): there is work to look at."""
        self._bell.set()

    async def pause(self, seconds: float) -> bool:
        """Wait ``seconds``, or less if woken; False once the loop is asked to stop."""
        if not self._stopping:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(seconds, 0.0)):
                    await self._bell.wait()
        self._bell.clear()
        return not self._stopping

    async def stop(self) -> None:
        """Let the work in hand finish (up to ``grace``), then end the loop."""
        if self._task is None:
            return
        self._stopping = True
        self._bell.set()
        await finish([self._task], self.grace)
        self._task = None
