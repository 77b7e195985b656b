"""BackgroundLoop: started once, stopped by cancelling and waiting."""

from __future__ import annotations

import asyncio

from caducee.background import BackgroundLoop


async def test_start_is_idempotent_and_stop_cancels_then_waits() -> None:
    started: list[int] = []
    cancelled = asyncio.Event()

    async def loop() -> None:
        started.append(1)
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    background = BackgroundLoop("test-loop")
    background.start(loop)
    background.start(loop)  # already running: not a second task
    await asyncio.sleep(0)
    assert started == [1] and background.running
    await background.stop()
    assert cancelled.is_set() and not background.running
    await background.stop()  # stopping a stopped loop is harmless
    background.start(loop)  # and it can start again
    await asyncio.sleep(0)
    assert started == [1, 1]
    await background.stop()
