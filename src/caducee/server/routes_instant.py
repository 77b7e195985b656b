"""MISS, secure instant messaging about a patient: roles, cases, routing and the hub.

The server stores ciphertext and routing metadata only (issue #8). Each part has its own
module (``instant_roles``, ``instant_pairing``, ``instant_login``, ``instant_devices``,
``instant_cases``, ``instant_hub``); this
one gathers their routes and starts the background parts:

- the escalation timer, driven by the server's clock (``extras["clock"]``), every
  ``extras["instant_escalation_interval"]`` seconds (5 by default) or at once after
  ``extras["instant_escalator"].wake()``;
- the hub's bus: PostgreSQL LISTEN/NOTIFY on PostgreSQL (several processes), in-process on
  SQLite (``extras["instant_bus"]`` set before start-up overrides it), and the fan-out task;
- the retention purge (``instant_retention``), hourly by default;
- the push sender (``instant_push``): empty Web Push for new messages, on the same bus.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from caducee.instant.bus import CaseBus, InProcessBus, PostgresBus
from caducee.instant.escalation import DEFAULT_INTERVAL, Escalator
from caducee.instant.post_batch import PostBatcher
from caducee.server import (
    instant_cases,
    instant_devices,
    instant_hub,
    instant_login,
    instant_pairing,
    instant_push,
    instant_retention,
    instant_roles,
)
from caducee.server.instant_common import now_of
from caducee.server.pages import templates
from caducee.server.state import ServerState

__all__ = ["router", "start"]

log = logging.getLogger(__name__)
router = APIRouter(tags=["instant"])
router.include_router(instant_roles.router)
router.include_router(instant_pairing.router)
router.include_router(instant_login.router)
router.include_router(instant_devices.router)
router.include_router(instant_cases.router)
router.include_router(instant_hub.router)
router.include_router(instant_push.router)
router.include_router(instant_retention.router)

APP_FILES = Path(__file__).parent / "static" / "instant" / "app"
# The app shell only: no API answer is ever cached by the browser from these routes' pages.
NO_STORE = {"Cache-Control": "no-cache"}
# The page decrypts health data: only its own modules run (no inline script, no eval), it
# talks to its own server only (its API and hub), photos come from blob: URLs made here, and
# no other site may frame it.
APP_SECURITY = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; img-src 'self' blob:; "
    "connect-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@router.get("/instant", include_in_schema=False)
async def app_redirect() -> RedirectResponse:
    return RedirectResponse("/instant/", status_code=308)


@router.get("/instant/", include_in_schema=False, response_class=HTMLResponse)
async def app_page(request: Request) -> HTMLResponse:
    """The MISS web app (its modules decrypt in the browser; the page holds no data)."""
    response = templates.TemplateResponse(
        request, "instant/app.html", {}, headers={**NO_STORE, **APP_SECURITY}
    )
    assert isinstance(response, HTMLResponse)
    return response


@router.get("/instant/manifest.webmanifest", include_in_schema=False)
async def app_manifest() -> FileResponse:
    return FileResponse(APP_FILES / "manifest.json", media_type="application/manifest+json")


@router.get("/instant/sw.js", include_in_schema=False)
async def app_service_worker() -> FileResponse:
    """Served under /instant/ so that its scope is the app's."""
    return FileResponse(APP_FILES / "sw.js", media_type="text/javascript", headers=NO_STORE)


async def _bus(state: ServerState) -> CaseBus:
    known: CaseBus | None = state.extras.get("instant_bus")
    if known is not None:
        return known
    if state.database.dialect == "postgresql":
        url = state.database.engine.url.set(drivername="postgresql")
        bus = PostgresBus(url.render_as_string(hide_password=False))
        try:
            await bus.start()
            return bus
        except Exception:  # the server still serves; only other processes' ids are late
            log.exception("LISTEN/NOTIFY unavailable: the hub falls back to this process")
            await bus.close()
    return InProcessBus()


async def start(state: ServerState) -> Callable[[], Awaitable[None]] | None:
    """Start the escalation timer and the hub; returns what stops both."""
    instant_login.install(state)  # device tokens, before the first request
    bus = await _bus(state)
    state.extras["instant_bus"] = bus
    batcher = state.extras["instant_posts"] = PostBatcher(state.database, now=now_of(state))
    escalator = Escalator(
        state.database,
        state.extras.get("evidence_log"),
        now=now_of(state),
        on_commit=bus.publish,
    )
    state.extras["instant_escalator"] = escalator

    def interval() -> float:
        return float(state.extras.get("instant_escalation_interval", DEFAULT_INTERVAL))

    stop_escalator = escalator.start(interval)
    hub = state.extras["instant_hub"] = instant_hub.Hub(state.database, bus, now=now_of(state))
    fan_out = asyncio.get_running_loop().create_task(hub.run())
    stop_purge = instant_retention.start(state, now_of(state))
    stop_push = await instant_push.start(state, bus)

    async def stop() -> None:
        await batcher.close()
        await stop_push()
        await stop_purge()
        fan_out.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await fan_out
        await bus.close()
        await stop_escalator()

    return stop
