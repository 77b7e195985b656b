"""The console's start-up: the relay's commit hooks, the bulk gate, the day closer.

The figures count what the relay commits (a rollup hook), the gate holds what looks like
bulk mail (it records every sender's contacts), and every ten minutes the finished days are
closed into the figures the dashboard reads.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from caducee.background import BackgroundLoop
from caducee.policy.gate import BulkGate
from caducee.policy.moderation import ModerationService
from caducee.server.auth import clock
from caducee.server.console_common import charter_url
from caducee.server.state import ServerState
from caducee.stats.establishments import refresh_establishments
from caducee.stats.figures import close_days
from caducee.stats.rollup import PARIS, RollupCounter

__all__ = ["CLOSE_EVERY_SECONDS", "close_finished_days", "start"]

log = logging.getLogger(__name__)
CLOSE_EVERY_SECONDS = 600.0


async def close_finished_days(state: ServerState) -> int:
    """Close every day up to yesterday (French time); the number closed."""
    yesterday = clock(state)().astimezone(PARIS).date() - timedelta(days=1)

    def work() -> int:
        with state.database.sync_engine.begin() as connection:
            refresh_establishments(connection)
            return close_days(connection, yesterday)

    return await asyncio.to_thread(work)


async def start(state: ServerState) -> Callable[[], Awaitable[None]] | None:
    """Register the relay hooks and the gate; close the days every ten minutes."""
    hooks = state.extras.setdefault("relay_commit_hooks", [])
    if state.extras.get("console_counters", True):
        counter = RollupCounter()
        state.extras["console_rollups"] = counter
        hooks.append(counter)

    def now() -> datetime:  # read at each call: tests move the server's clock later
        return clock(state)()

    moderation = ModerationService(state.database, state.extras.get("evidence_log"), now=now)
    gate = BulkGate(state.database, moderation, charter_url=charter_url(state), now=now)
    state.extras["submission_gate"] = gate
    hooks.append(gate.record_contacts)

    loop = BackgroundLoop("figures-closer")

    async def closer() -> None:
        while True:
            try:
                closed = await close_finished_days(state)
                if closed:
                    log.info("closed %d days of figures", closed)
            except Exception:  # a failed pass is retried at the next one
                log.exception("closing the days' figures failed")
            if not await loop.pause(CLOSE_EVERY_SECONDS):
                return

    loop.start(closer)
    return loop.stop
