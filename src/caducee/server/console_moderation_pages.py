"""The console's moderation: held messages to release or refuse, reports, sanctions.

A decision is one click (a form button) and back to the queue; a sanction names its
sender, level and reason (the sender sees both), and lifting one needs it to be current.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select

from caducee.directory.models import Mailbox
from caducee.errors import CaduceeError
from caducee.policy.models import Sanction
from caducee.policy.moderation import OPERATOR_ACTOR, HoldStatus
from caducee.policy.reports import ReportService
from caducee.policy.sanctions import SanctionLevel, SanctionService
from caducee.server.auth import clock, relay_service
from caducee.server.console_common import (
    State,
    moderation_service,
    operator_session,
    problem,
    submission_gate,
)
from caducee.server.console_forms import (
    FormError,
    done,
    login_redirect,
    read_form,
    refusal,
    render_page,
    too_long,
)
from caducee.server.problems import ProblemError
from caducee.server.state import ServerState

__all__ = ["router"]

log = logging.getLogger(__name__)
router: APIRouter = APIRouter(include_in_schema=False)
SANCTION_LENGTHS = {"address": 320, "reason": 500}
LEVELS = {
    SanctionLevel.WARNING: ("avertissement", "warning"),
    SanctionLevel.HOLD: ("retenue de chaque message", "every message held"),
    SanctionLevel.BLOCK: ("blocage", "block"),
}


async def _addresses(state: ServerState, ids: set[int]) -> dict[int, str]:
    async with state.database.sessions() as session:
        rows = await session.execute(
            select(Mailbox.id, Mailbox.address).where(Mailbox.id.in_(sorted(ids)))
        )
        return {i: a for i, a in rows.all()}


async def _reports(state: ServerState) -> list[dict[str, Any]]:
    """Open reports, each with its sender's address and its message's hold, if any."""
    service = ReportService(state.database, now=clock(state))
    reports = await service.open_reports()
    holds = {h.message_id: h for h in await moderation_service(state).queue(None, limit=1000)}
    senders = {r.sender_mailbox_id for r in reports}
    addresses = await _addresses(state, senders)
    reputation = await service.reputation(sorted(senders))
    return [
        {
            "report": r,
            "sender": addresses.get(r.sender_mailbox_id, f"#{r.sender_mailbox_id}"),
            "reporters": reputation.get(r.sender_mailbox_id, 0),
            "hold": holds.get(r.message_id),
        }
        for r in reports
    ]


# -- held messages --------------------------------------------------------------------------


async def _moderation_page(
    request: Request, state: ServerState, *, status: int = 200, error: FormError | None = None
) -> HTMLResponse:
    holds = await moderation_service(state).queue(HoldStatus.HELD)
    decided = [
        h for h in await moderation_service(state).queue(None, limit=50) if h.status != "held"
    ]
    return render_page(
        request,
        state,
        "console/moderation.html",
        status=status,
        holds=holds,
        decided=decided,
        reports=await _reports(state),
        errors=(error,) if error else (),
    )


@router.get("/console/moderation", response_class=HTMLResponse)
async def moderation_page(request: Request, state: State) -> Response:
    if operator_session(request, state) is None:
        return login_redirect()
    return await _moderation_page(request, state)


@router.post("/console/moderation/{hold_id}/{decision}", response_class=HTMLResponse)
async def decide_page(hold_id: int, decision: str, request: Request, state: State) -> Response:
    """One click (a form button): release or refuse, then back to the queue."""
    values = await read_form(request, state)
    if isinstance(values, Response):
        return values
    service = moderation_service(state)
    try:
        if decision == "release":
            hold = await service.release(hold_id, OPERATOR_ACTOR, relay_service(state))
        elif decision == "refuse":
            hold = await service.refuse(hold_id, OPERATOR_ACTOR, state.blobs)
        else:
            raise ProblemError(404, "not-found", "release or refuse")
    except CaduceeError as exc:
        error = exc if isinstance(exc, ProblemError) else problem(exc)
        message = refusal("", "decision", hold=hold_id, reason=error.reason)
        return await _moderation_page(request, state, status=error.status, error=message)
    log.info("hold %d %s from the console", hold.id, hold.status)
    return done("/console/moderation")


# -- sanctions ------------------------------------------------------------------------------


async def _current_sanctions(state: ServerState) -> list[tuple[Sanction, str]]:
    async with state.database.sessions() as session:
        rows = await session.execute(
            select(Sanction, Mailbox.address)
            .join(Mailbox, Mailbox.id == Sanction.mailbox_id)
            .where(Sanction.lifted_at.is_(None))
            .order_by(Sanction.created_at.desc(), Sanction.id.desc())
        )
        return [(s, a) for s, a in rows.all()]


async def _sanctions_page(
    request: Request,
    state: ServerState,
    *,
    status: int = 200,
    errors: tuple[FormError, ...] = (),
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    query = request.query_params
    return render_page(
        request,
        state,
        "console/sanctions.html",
        status=status,
        sanctions=await _current_sanctions(state),
        reports=await _reports(state),
        levels=LEVELS,
        errors=errors,
        values=values or {"address": query.get("address", "")[:320], "level": "warning"},
        imposed=query.get("imposed", ""),
        lifted=query.get("lifted", ""),
    )


@router.get("/console/sanctions", response_class=HTMLResponse)
async def sanctions_page(request: Request, state: State) -> Response:
    if operator_session(request, state) is None:
        return login_redirect()
    return await _sanctions_page(request, state)


@router.post("/console/sanctions", response_class=HTMLResponse)
async def impose_page(request: Request, state: State) -> Response:
    """A warning, a hold or a block on a sender, with its reason (the sender sees both)."""
    values = await read_form(request, state)
    if isinstance(values, Response):
        return values
    errors = too_long(values, SANCTION_LENGTHS)
    address, level, reason = (values.get(k, "") for k in ("address", "level", "reason"))
    mailbox_id = None
    if address and not errors:
        async with state.database.sessions() as session:
            mailbox_id = await session.scalar(
                select(Mailbox.id).where(Mailbox.address == address.lower())
            )
    if mailbox_id is None and not errors:
        errors.append(refusal("address", "no-mailbox", address=address))
    if level not in {lv.value for lv in SanctionLevel}:
        errors.append(refusal("level", "level"))
    if not reason:
        errors.append(refusal("reason", "reason"))
    if errors or mailbox_id is None:
        return await _sanctions_page(
            request, state, status=422, errors=tuple(errors), values=values
        )
    sanction = await SanctionService(state.database, now=clock(state)).impose(
        mailbox_id, SanctionLevel(level), reason, OPERATOR_ACTOR
    )
    if (gate := submission_gate(state)) is not None:
        gate.forget(mailbox_id)
    return done(f"/console/sanctions?imposed={sanction.id}")


@router.post("/console/sanctions/{sanction_id}/lift", response_class=HTMLResponse)
async def lift_page(sanction_id: int, request: Request, state: State) -> Response:
    values = await read_form(request, state)
    if isinstance(values, Response):
        return values
    async with state.database.sessions() as session:
        current = await session.scalar(
            select(func.count(Sanction.id)).where(
                Sanction.id == sanction_id, Sanction.lifted_at.is_(None)
            )
        )
    if not current:
        error = refusal("", "not-current", sanction=sanction_id)
        return await _sanctions_page(request, state, status=404, errors=(error,))
    await SanctionService(state.database, now=clock(state)).lift(sanction_id)
    if (gate := submission_gate(state)) is not None:
        gate.forget()
    return done(f"/console/sanctions?lifted={sanction_id}")
