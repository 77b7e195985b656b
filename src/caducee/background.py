"""A service's loop running in the event loop, started once and stopped cleanly.

The gateway's queues, the trust list's refresh and the blob sweep each run one such loop from
the server's lifespan; this holds the start-once and cancel-then-await that they share.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any

__all__ = ["BackgroundLoop"]


class BackgroundLoop:
    """One named task: :meth:`start` is idempotent, :meth:`stop` cancels and waits for it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self, loop: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run ``loop()`` unless it already runs."""
        if self._task is None:
            self._task = asyncio.create_task(loop(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
