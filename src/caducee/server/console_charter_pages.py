"""The console's charter: the current version, how many signed it, publishing a new one.

A new version is refused when empty, too long, or the current text again (nothing would
change but every establishment would have to sign again).
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from caducee.policy.charter import MAX_CHARTER_CHARS, normalise_charter
from caducee.server.console_common import State, charter_service, operator_session
from caducee.server.console_forms import (
    FormError,
    done,
    login_redirect,
    read_form,
    refusal,
    render_page,
)
from caducee.server.state import ServerState

__all__ = ["router"]

log = logging.getLogger(__name__)
router: APIRouter = APIRouter(include_in_schema=False)


async def _charter_admin_page(
    request: Request,
    state: ServerState,
    *,
    status: int = 200,
    errors: tuple[FormError, ...] = (),
    text: str | None = None,
) -> HTMLResponse:
    charter = await charter_service(state).current()
    views = await charter_service(state).establishments()
    signed = sum(1 for e in views if e.signed_version and e.up_to_date)
    return render_page(
        request,
        state,
        "console/charter_admin.html",
        status=status,
        charter=charter,
        signed=signed,
        total=len(views),
        errors=errors,
        text=charter.text if text is None and charter else (text or ""),
        published=request.query_params.get("published", ""),
    )


@router.get("/console/charter", response_class=HTMLResponse)
async def charter_admin_page(request: Request, state: State) -> Response:
    if operator_session(request, state) is None:
        return login_redirect()
    return await _charter_admin_page(request, state)


@router.post("/console/charter", response_class=HTMLResponse)
async def publish_page(request: Request, state: State) -> Response:
    """A new version: every establishment must sign it again before enrolling its people."""
    values = await read_form(request, state)
    if isinstance(values, Response):
        return values
    text = values.get("text", "")
    current = await charter_service(state).current()
    errors = []
    if not text or len(text) > MAX_CHARTER_CHARS:
        errors.append(refusal("text", "charter-length", most=MAX_CHARTER_CHARS))
    elif current is not None and normalise_charter(text) == current.text:
        errors.append(refusal("text", "charter-same"))
    if errors:
        return await _charter_admin_page(
            request, state, status=422, errors=tuple(errors), text=text
        )
    charter = await charter_service(state).publish(text)
    log.info("charter v%d published from the console sha256=%s", charter.version, charter.sha256)
    return done(f"/console/charter?published={charter.version}")
