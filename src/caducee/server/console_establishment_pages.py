"""The console's establishments: the list, one establishment, the registration form.

The form registers an establishment and its manager, refused whole or done whole: every
check (lengths, FINESS and RPPS with their Luhn key, what the directory holds) is made
before the first write.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from caducee.directory import OrganisationType
from caducee.directory.identifiers import FINESS_LENGTH, RPPS_LENGTH, is_luhn_valid
from caducee.directory.models import Mailbox, Organisation, Person
from caducee.errors import CaduceeError
from caducee.policy.models import Establishment
from caducee.server.console_common import State, charter_service, operator_session, problem
from caducee.server.console_forms import (
    FormError,
    done,
    login_redirect,
    read_form,
    refusal,
    render_page,
    too_long,
    whole_number,
)
from caducee.server.console_registration import (
    EstablishmentRequest,
    ManagerRequest,
    looks_like_address,
    register_establishment,
)
from caducee.server.problems import ProblemError
from caducee.server.routes_establishments import establishment_detail
from caducee.server.state import ServerState
from caducee.stats.labels import REGIONS

__all__ = ["router"]

log = logging.getLogger(__name__)
router: APIRouter = APIRouter(include_in_schema=False)
ALL_REGIONS = (*REGIONS, "Guadeloupe", "Martinique", "Guyane", "La Réunion", "Mayotte")
MAX_BEDS = 100_000
REGISTRATION_LENGTHS = {
    "name": 200, "address": 200, "postcode": 10, "city": 100, "region": 100,
    "given_name": 100, "family_name": 100, "profession": 100, "mailbox": 320,
}  # fmt: skip


async def _establishments_page(
    request: Request,
    state: ServerState,
    *,
    status: int = 200,
    errors: tuple[FormError, ...] = (),
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    return render_page(
        request,
        state,
        "console/establishments.html",
        status=status,
        establishments=await charter_service(state).establishments(),
        charter=await charter_service(state).current(),
        errors=errors,
        values=values or {"profession": "directeur"},
        registered=request.query_params.get("registered", ""),
        regions=ALL_REGIONS,
        org_types=[t.value for t in OrganisationType],
    )


@router.get("/console/establishments", response_class=HTMLResponse)
async def establishments_page(request: Request, state: State) -> Response:
    if operator_session(request, state) is None:
        return login_redirect()
    return await _establishments_page(request, state)


def _identifier_error(field: str, value: str, length: int, what: str) -> FormError | None:
    if len(value) != length or not (value.isascii() and value.isdigit()):
        return refusal(field, "digits", what=what, length=length)
    if not is_luhn_valid(value):
        return refusal(field, "luhn", what=what)
    return None


def _organisation_errors(v: dict[str, str]) -> tuple[int | None, list[FormError]]:
    """A new organisation's name, type and beds (a nursing home only, and it must say)."""
    errors, beds = [], None
    if not v.get("name"):
        errors.append(refusal("name", "name"))
    kind = v.get("type", "")
    if kind not in {t.value for t in OrganisationType}:
        errors.append(refusal("type", "type"))
    if kind == OrganisationType.NURSING_HOME.value:
        beds, error = whole_number(v.get("beds", ""), "beds", 1, MAX_BEDS)
        errors += [error] if error else []
    elif v.get("beds"):
        errors.append(refusal("beds", "beds"))
    return beds, errors


async def _check_registration(
    state: ServerState, v: dict[str, str]
) -> tuple[EstablishmentRequest | None, list[FormError]]:
    """Every check before any write: a refused form leaves the directory as it was."""
    errors = too_long(v, REGISTRATION_LENGTHS)
    finess, rpps = v.get("finess", ""), v.get("rpps", "")
    errors += filter(None, [_identifier_error("finess", finess, FINESS_LENGTH, "FINESS")])
    errors += filter(None, [_identifier_error("rpps", rpps, RPPS_LENGTH, "RPPS")])
    if errors:
        return None, errors
    mailbox = v.get("mailbox", "").lower()
    async with state.database.sessions() as session:
        organisation = await session.get(Organisation, finess)
        registered = await session.get(Establishment, finess)
        person = await session.get(Person, rpps)
        taken = await session.scalar(select(Mailbox.id).where(Mailbox.address == mailbox))
    if registered is not None:
        errors.append(refusal("finess", "registered", finess=finess))
    beds = None
    if organisation is None:
        beds, more = _organisation_errors(v)
        errors += more
    if person is None:
        required = ("given_name", "family_name", "profession")
        errors += [refusal(name, name) for name in required if not v.get(name)]
        if not looks_like_address(mailbox):
            errors.append(refusal("mailbox", "mailbox"))
        elif taken is not None:
            errors.append(refusal("mailbox", "taken", address=mailbox))
    if errors:
        return None, errors
    return EstablishmentRequest(
        finess=finess,
        name=v.get("name") or None,
        type=OrganisationType(v["type"]) if organisation is None else None,
        beds=beds,
        address=v.get("address", ""),
        city=v.get("city", ""),
        region=v.get("region", ""),
        postcode=v.get("postcode", ""),
        manager=ManagerRequest(
            rpps=rpps,
            given_name=v.get("given_name") or None,
            family_name=v.get("family_name") or None,
            profession=v.get("profession") or "directeur",
            mailbox=mailbox or None,
        ),
    ), []


@router.post("/console/establishments", response_class=HTMLResponse)
async def register_page(request: Request, state: State) -> Response:
    """Register an establishment and its manager; refused whole, or done whole."""
    values = await read_form(request, state)
    if isinstance(values, Response):
        return values
    body, errors = await _check_registration(state, values)
    if body is not None:
        try:
            finess = await register_establishment(state, body)
        except CaduceeError as exc:  # a race with another writer
            error = exc if isinstance(exc, ProblemError) else problem(exc)
            errors = [refusal("", "failed", reason=error.reason)]
        else:
            log.info("establishment %s registered from the console", finess)
            return done(f"/console/establishments?registered={finess}")
    return await _establishments_page(
        request, state, status=422, errors=tuple(errors), values=values
    )


@router.get("/console/establishments/{finess}", response_class=HTMLResponse)
async def establishment_page(finess: str, request: Request, state: State) -> Response:
    if operator_session(request, state) is None:
        return login_redirect()
    try:
        detail = await establishment_detail(state, finess)
    except ProblemError:
        return render_page(request, state, "console/refused.html", status=404, reason="unknown")
    return render_page(request, state, "console/establishment.html", e=detail)
