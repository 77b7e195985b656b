"""HTTP routes of the interop part; ``start`` runs its background work."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter

from caducee.server.state import ServerState

__all__ = ["router", "start"]

router = APIRouter()


async def start(state: ServerState) -> Callable[[], Awaitable[None]] | None:
    """Start background work; return the coroutine function that stops it, or None."""
    return None
