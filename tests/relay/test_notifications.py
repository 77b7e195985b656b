"""The in-process bus wakes the waiters of one mailbox and forgets them when they leave."""

from __future__ import annotations

import asyncio

from caducee.relay import InProcessNotifier


async def test_publish_wakes_only_that_mailbox() -> None:
    bus = InProcessNotifier()
    async with bus.subscribe(1) as one, bus.subscribe(2) as two:
        assert bus.waiting(1) == 1
        waiter = asyncio.create_task(one.wait(5))
        await asyncio.sleep(0)
        await bus.publish(1, 7)
        assert await waiter is True
        assert await two.wait(0.01) is False
        await bus.publish(1, 8)  # remembered until the next wait
        assert await one.wait(0.01) is True
    assert bus.waiting(1) == 0 and bus.waiting(2) == 0
