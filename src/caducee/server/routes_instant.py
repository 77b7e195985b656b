"""MISS, secure instant messaging about a patient: roles, cases, routing and the hub.

The server stores ciphertext and routing metadata only (issue #8).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter

from caducee.server.state import ServerState

__all__ = ["router", "start"]

router = APIRouter(tags=["instant"])


async def start(state: ServerState) -> Callable[[], Awaitable[None]] | None:
    """Start the background parts (escalation timers, the hub's fan-out); ``None`` if none."""
    return None
