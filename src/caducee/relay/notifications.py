"""Tell waiting agents that their mailbox changed: ids only, never content.

``MailboxNotifier`` is the plug-in point: ``InProcessNotifier`` wakes waiters in this
process; a PostgreSQL LISTEN/NOTIFY implementation can replace it for several processes.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Protocol

__all__ = ["InProcessNotifier", "MailboxNotifier", "Subscription"]


class Subscription(Protocol):
    async def wait(self, timeout: float) -> bool:
        """True when the mailbox changed since the last wait, False on timeout."""
        ...


class MailboxNotifier(Protocol):
    async def publish(self, mailbox_id: int, sequence: int) -> None:
        """Announce that ``mailbox_id`` now has a delivery numbered ``sequence``."""
        ...

    def subscribe(self, mailbox_id: int) -> AbstractSubscriptionContext:
        """A context manager yielding a ``Subscription`` for one mailbox."""
        ...


class AbstractSubscriptionContext(Protocol):
    async def __aenter__(self) -> Subscription: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool | None: ...


class _EventSubscription:
    def __init__(self) -> None:
        self.event = asyncio.Event()

    async def wait(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self.event.wait(), timeout)
        except TimeoutError:
            return False
        self.event.clear()
        return True


class InProcessNotifier:
    """One asyncio.Event per waiter, grouped by mailbox."""

    def __init__(self) -> None:
        self._waiters: defaultdict[int, set[_EventSubscription]] = defaultdict(set)

    async def publish(self, mailbox_id: int, sequence: int) -> None:
        for waiter in self._waiters.get(mailbox_id, ()):
            waiter.event.set()

    def waiting(self, mailbox_id: int) -> int:
        """How many waiters a mailbox has (tests, statistics)."""
        return len(self._waiters.get(mailbox_id, ()))

    @asynccontextmanager
    async def _subscribe(self, mailbox_id: int) -> AsyncIterator[Subscription]:
        subscription = _EventSubscription()
        self._waiters[mailbox_id].add(subscription)
        try:
            yield subscription
        finally:
            waiters = self._waiters.get(mailbox_id)
            if waiters is not None:
                waiters.discard(subscription)
                if not waiters:
                    del self._waiters[mailbox_id]

    def subscribe(self, mailbox_id: int) -> AbstractSubscriptionContext:
        return self._subscribe(mailbox_id)
