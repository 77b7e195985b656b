"""The console's sending limits: the defaults, every scope set, the form setting one.

A scope's three limits are set together; a value out of its range, or a scope naming an
establishment the directory does not hold, is refused and nothing is written.
"""

from __future__ import annotations

import logging
from dataclasses import asdict

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from caducee.directory import OrganisationType
from caducee.directory.models import MailboxKind, Organisation
from caducee.errors import CaduceeError
from caducee.policy.bulk import Limits
from caducee.policy.limits import DEFAULTS, LimitService, check_scope
from caducee.server.auth import clock
from caducee.server.console_common import State, operator_session, submission_gate
from caducee.server.console_forms import (
    FormError,
    done,
    login_redirect,
    read_form,
    refusal,
    render_page,
    whole_number,
)
from caducee.server.routes_limits import LIMIT_RANGES
from caducee.server.state import ServerState

__all__ = ["router"]

log = logging.getLogger(__name__)
router: APIRouter = APIRouter(include_in_schema=False)


async def _limits_page(
    request: Request,
    state: ServerState,
    *,
    status: int = 200,
    errors: tuple[FormError, ...] = (),
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    scopes = await LimitService(state.database).all()
    chosen = request.query_params.get("scope", "")
    if values is None and chosen in scopes:
        values = {"scope": chosen, **{k: str(v) for k, v in asdict(scopes[chosen]).items()}}
    return render_page(
        request,
        state,
        "console/limits.html",
        status=status,
        defaults=DEFAULTS,
        scopes=scopes,
        errors=errors,
        values=values or {"scope": chosen},
        ranges=LIMIT_RANGES,
        kinds=[k.value for k in MailboxKind],
        org_types=[t.value for t in OrganisationType],
        saved=request.query_params.get("saved", ""),
    )


@router.get("/console/limits", response_class=HTMLResponse)
async def limits_page(request: Request, state: State) -> Response:
    if operator_session(request, state) is None:
        return login_redirect()
    return await _limits_page(request, state)


async def _check_limits(
    state: ServerState, v: dict[str, str]
) -> tuple[tuple[str, Limits] | None, list[FormError]]:
    errors: list[FormError] = []
    scope = v.get("scope", "")[:100]
    try:
        check_scope(scope)
    except CaduceeError:
        errors.append(refusal("scope", "scope"))
    else:
        if scope.startswith("org:"):
            finess = scope.split(":")[1]
            async with state.database.sessions() as session:
                if await session.get(Organisation, finess) is None:
                    errors.append(refusal("scope", "no-organisation", finess=finess))
    numbers: dict[str, int] = {}
    for name, (low, high) in LIMIT_RANGES.items():
        number, error = whole_number(v.get(name, ""), name, low, high)
        if error is not None:
            errors.append(error)
        elif number is not None:
            numbers[name] = number
    if errors:
        return None, errors
    return (scope, Limits(**numbers)), []


@router.post("/console/limits", response_class=HTMLResponse)
async def set_limits_page(request: Request, state: State) -> Response:
    """Set one scope's three limits; a value out of its range is refused, nothing written."""
    values = await read_form(request, state)
    if isinstance(values, Response):
        return values
    checked, errors = await _check_limits(state, values)
    if checked is None:
        return await _limits_page(request, state, status=422, errors=tuple(errors), values=values)
    scope, limits = checked
    await LimitService(state.database, now=clock(state)).set(scope, limits)
    if (gate := submission_gate(state)) is not None:
        gate.forget()
    log.info("limits of scope %s set from the console", scope)
    return done(f"/console/limits?saved={scope}")
