"""MISS, secure instant messaging about a patient: roles, cases, routing and the hub.

The server stores ciphertext and routing metadata only (issue #8). Each part has its own
module (``instant_roles``, ...); this one gathers their routes and starts the background
parts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter

from caducee.server import instant_cases, instant_devices, instant_roles
from caducee.server.state import ServerState

__all__ = ["router", "start"]

router = APIRouter(tags=["instant"])
router.include_router(instant_roles.router)
router.include_router(instant_devices.router)
router.include_router(instant_cases.router)


async def start(state: ServerState) -> Callable[[], Awaitable[None]] | None:
    """Start the background parts (escalation timers, the hub's fan-out); ``None`` if none."""
    return None
