"""The console's pages and forms, French first (English with ``?lang=en``).

This module holds the login, the dashboard and the public charter, and gathers the
sections' pages into one router, in this order: establishments, the charter, sending
limits, moderation. What every page shares (the session, the CSRF token, the refusals in
both languages) is :mod:`caducee.server.console_forms`. Logs carry ids, never content.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from caducee.server import (
    console_charter_pages,
    console_establishment_pages,
    console_limit_pages,
    console_moderation_pages,
)
from caducee.server.auth import operator_token_matches
from caducee.server.console_common import COOKIE, State, charter_service, operator_session
from caducee.server.console_forms import FormError, csrf_token, login_redirect, render_page
from caducee.stats.dashboard import load_dashboard

__all__ = ["FormError", "csrf_token", "router"]

router: APIRouter = APIRouter(include_in_schema=False)
SESSION_SECONDS = 8 * 3600


@router.get("/console/login", response_class=HTMLResponse)
async def login_page(request: Request, state: State) -> HTMLResponse:
    return render_page(request, state, "console/login.html", failed=False)


@router.post("/console/login")
async def login(request: Request, state: State, token: Annotated[str, Form()]) -> Response:
    """The operator token, once, for a cookie the browser keeps for a working day."""
    if not operator_token_matches(state, token.strip()):
        return render_page(request, state, "console/login.html", status=401, failed=True)
    response = RedirectResponse("/console", status_code=303)
    response.set_cookie(
        COOKIE,
        token.strip(),
        httponly=True,
        samesite="strict",
        secure=state.settings.public_url.startswith("https://"),
        max_age=SESSION_SECONDS,
    )
    return response


@router.post("/console/logout")
async def logout() -> Response:
    response = login_redirect()
    response.delete_cookie(COOKIE)
    return response


@router.get("/console", response_class=HTMLResponse)
async def dashboard_page(request: Request, state: State) -> Response:
    if operator_session(request, state) is None:
        return login_redirect()
    dashboard = await load_dashboard(state.database)
    return render_page(
        request, state, "console/dashboard.html", d=dashboard, data=dashboard.to_json()
    )


@router.get("/charter", response_class=HTMLResponse)
async def charter_page(request: Request, state: State) -> HTMLResponse:
    charter = await charter_service(state).current()
    return render_page(request, state, "console/charter.html", charter=charter)


for _section in (
    console_establishment_pages,
    console_charter_pages,
    console_limit_pages,
    console_moderation_pages,
):
    router.include_router(_section.router)
