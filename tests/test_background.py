"""BackgroundLoop and finish: work in hand ends before the stop; only late work is cancelled."""

from __future__ import annotations

import asyncio
import logging

import pytest

from caducee.background import BackgroundLoop, finish


async def test_start_is_idempotent_and_a_pause_ends_at_once_on_stop() -> None:
    passes: list[int] = []
    background = BackgroundLoop("test-loop")

    async def loop() -> None:
        while True:
            passes.append(1)
            if not await background.pause(3600):
                return

    background.start(loop)
    background.start(loop)  # already running: not a second task
    await asyncio.sleep(0)
    assert passes == [1] and background.running
    await asyncio.wait_for(background.stop(), 1.0)  # not the hour of the pause
    assert not background.running
    await background.stop()  # stopping a stopped loop is harmless
    background.start(loop)  # and it can start again, not stopping at once
    await asyncio.sleep(0)
    assert passes == [1, 1] and background.running
    await background.stop()


async def test_stop_lets_the_work_in_hand_finish_instead_of_cancelling_it() -> None:
    background = BackgroundLoop("test-loop")
    working, done = asyncio.Event(), asyncio.Event()

    async def loop() -> None:
        while True:
            working.set()
            await asyncio.sleep(0.2)  # a database call, say: cancelling here does harm
            done.set()
            if not await background.pause(3600):
                return

    background.start(loop)
    await working.wait()
    await background.stop()
    assert done.is_set() and not background.running


async def test_wake_ends_a_pause_early_and_a_wake_during_work_is_not_lost() -> None:
    background = BackgroundLoop("test-loop")
    passes: list[int] = []
    second = asyncio.Event()

    async def loop() -> None:
        while True:
            passes.append(1)
            if len(passes) == 1:
                background.wake()  # new work arrived while this pass ran
            if len(passes) == 3:
                second.set()
            if not await background.pause(3600):
                return

    background.start(loop)
    await asyncio.sleep(0.05)
    assert passes == [1, 1]  # the wake during the first pass skipped its pause
    background.wake()
    await asyncio.wait_for(second.wait(), 1.0)
    await background.stop()


async def test_work_that_ignores_the_stop_is_cancelled_after_the_grace(
    caplog: pytest.LogCaptureFixture,
) -> None:
    background = BackgroundLoop("stubborn", grace=0.1)
    cancelled = asyncio.Event()

    async def loop() -> None:
        try:
            await asyncio.sleep(3600)  # never pauses
        except asyncio.CancelledError:
            cancelled.set()
            raise

    background.start(loop)
    await asyncio.sleep(0)
    with caplog.at_level(logging.WARNING, logger="caducee.background"):
        await asyncio.wait_for(background.stop(), 2.0)
    assert cancelled.is_set() and not background.running
    assert "stubborn still running after" in caplog.text


async def test_finish_waits_cancels_the_late_and_reports_failures(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def quick() -> str:
        await asyncio.sleep(0.01)
        return "ok"

    async def failing() -> None:
        await asyncio.sleep(0.01)
        raise RuntimeError("boom")

    ok = asyncio.create_task(quick(), name="quick")
    bad = asyncio.create_task(failing(), name="failing")
    late = asyncio.create_task(asyncio.sleep(3600), name="late")
    with caplog.at_level(logging.WARNING, logger="caducee.background"):
        await finish([ok, bad, late], grace=0.2)
    assert ok.result() == "ok"
    assert late.cancelled()
    assert "failing failed" in caplog.text and "late still running" in caplog.text
    await finish([ok, bad, late])  # all done: returns at once
