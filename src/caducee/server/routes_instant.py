"""MISS, secure instant messaging about a patient: roles, cases, routing and the hub.

The server stores ciphertext and routing metadata only (issue #8). Each part has its own
module (``instant_roles``, ``instant_devices``, ``instant_cases``); this one gathers their
routes and starts the background parts: the escalation timer, driven by the server's clock
(``extras["clock"]``), every ``extras["instant_escalation_interval"]`` seconds (5 by
default) or at once after ``extras["instant_escalator"].wake()``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter

from caducee.instant.escalation import DEFAULT_INTERVAL, Escalator
from caducee.server import instant_cases, instant_devices, instant_roles
from caducee.server.instant_common import now_of
from caducee.server.state import ServerState

__all__ = ["router", "start"]

router = APIRouter(tags=["instant"])
router.include_router(instant_roles.router)
router.include_router(instant_devices.router)
router.include_router(instant_cases.router)


async def start(state: ServerState) -> Callable[[], Awaitable[None]] | None:
    """Start the background parts (escalation timers, the hub's fan-out); ``None`` if none."""
    escalator = Escalator(state.database, state.extras.get("evidence_log"), now=now_of(state))
    state.extras["instant_escalator"] = escalator

    def interval() -> float:
        return float(state.extras.get("instant_escalation_interval", DEFAULT_INTERVAL))

    return escalator.start(interval)
