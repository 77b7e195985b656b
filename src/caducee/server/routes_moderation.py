"""Moderation: held messages, moderators, recipients' reports, sanctions on senders.

- ``GET /api/v1/console/holds?status=``, ``POST .../holds/{id}/release|refuse`` (the
  operator or a moderator's access token), ``POST /api/v1/console/moderators`` {rpps}
- ``POST /api/v1/reports`` {message_id, reason, comment}: a recipient reports a message;
  ``GET /api/v1/console/reports``: the open ones, with each sender's reputation
- ``POST /api/v1/console/sanctions`` {address, level, reason},
  ``POST /api/v1/console/sanctions/{id}/lift`` (operator)
- ``GET /api/v1/policy/sanctions``: the caller's sanctions and held messages
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field

from caducee.errors import CaduceeError
from caducee.policy.moderation import OPERATOR_ACTOR, HeldMessage, HoldStatus
from caducee.policy.protocol import MAX_REPORT_COMMENT
from caducee.policy.reports import ReportReason, ReportService
from caducee.policy.sanctions import SanctionLevel, SanctionService, SanctionView
from caducee.server.auth import Agent, clock, relay_service
from caducee.server.console_common import (
    ConsoleOperator,
    Moderator,
    State,
    charter_url,
    directory_service,
    moderation_service,
    problem,
    submission_gate,
)
from caducee.server.requests import StrictRequest

__all__ = ["router"]

router = APIRouter()


# -- held messages ------------------------------------------------------------------------


def _hold_json(hold: HeldMessage) -> dict[str, Any]:
    data = asdict(hold)
    data["created_at"] = hold.created_at.isoformat()
    data["decided_at"] = hold.decided_at.isoformat() if hold.decided_at else None
    return data


@router.get("/api/v1/console/holds", tags=["console"])
async def list_holds(
    _actor: Moderator,
    state: State,
    status: Annotated[str | None, Query(max_length=16)] = HoldStatus.HELD,
) -> dict[str, Any]:
    holds = await moderation_service(state).queue(None if status == "all" else status)
    return {"holds": [_hold_json(h) for h in holds]}


@router.post("/api/v1/console/holds/{hold_id}/release", tags=["console"])
async def release_hold(hold_id: int, actor: Moderator, state: State) -> dict[str, Any]:
    try:
        hold = await moderation_service(state).release(hold_id, actor, relay_service(state))
    except CaduceeError as exc:
        raise problem(exc) from None
    return _hold_json(hold)


@router.post("/api/v1/console/holds/{hold_id}/refuse", tags=["console"])
async def refuse_hold(hold_id: int, actor: Moderator, state: State) -> dict[str, Any]:
    try:
        hold = await moderation_service(state).refuse(hold_id, actor, state.blobs)
    except CaduceeError as exc:
        raise problem(exc) from None
    return _hold_json(hold)


class ModeratorRequest(StrictRequest):
    rpps: str = Field(max_length=11)


@router.post("/api/v1/console/moderators", status_code=201, tags=["console"])
async def add_moderator(body: ModeratorRequest, _op: ConsoleOperator, state: State) -> Any:
    try:
        await directory_service(state).personal_mailboxes(body.rpps)  # the person exists
    except CaduceeError as exc:
        raise problem(exc) from None
    await moderation_service(state).add_moderator(body.rpps)
    return {"rpps": body.rpps}


# -- reports --------------------------------------------------------------------------------


class ReportRequest(StrictRequest):
    message_id: str = Field(min_length=1, max_length=200)
    reason: ReportReason = ReportReason.BULK
    comment: str = Field(default="", max_length=MAX_REPORT_COMMENT)


@router.post("/api/v1/reports", status_code=201, tags=["moderation"])
async def report_message(body: ReportRequest, agent: Agent, state: State) -> dict[str, Any]:
    """A recipient reports an unwanted message (only a message delivered to them)."""
    try:
        report = await ReportService(state.database, now=clock(state)).report(
            reporter_mailbox_id=agent.mailbox_id,
            message_id=body.message_id,
            reason=body.reason,
            comment=body.comment,
        )
    except CaduceeError as exc:
        raise problem(exc) from None
    return {"id": report.id, "message_id": report.message_id, "status": report.status}


@router.get("/api/v1/console/reports", tags=["console"])
async def list_reports(_op: ConsoleOperator, state: State) -> dict[str, Any]:
    reports_service = ReportService(state.database, now=clock(state))
    reports = await reports_service.open_reports()
    senders = sorted({r.sender_mailbox_id for r in reports})
    reputation = await reports_service.reputation(senders)
    return {
        "reports": [{**asdict(r), "created_at": r.created_at.isoformat()} for r in reports],
        "reputation": {str(k): v for k, v in reputation.items()},
    }


# -- sanctions ------------------------------------------------------------------------------


class SanctionRequest(StrictRequest):
    address: str = Field(min_length=3, max_length=320)
    level: SanctionLevel
    reason: str = Field(min_length=1, max_length=500)


def _sanction_json(s: SanctionView) -> dict[str, Any]:
    data = asdict(s)
    data["created_at"] = s.created_at.isoformat()
    data["lifted_at"] = s.lifted_at.isoformat() if s.lifted_at else None
    return data


@router.post("/api/v1/console/sanctions", status_code=201, tags=["console"])
async def impose_sanction(body: SanctionRequest, _op: ConsoleOperator, state: State) -> Any:
    try:
        mailbox = await directory_service(state).get_mailbox(body.address)
    except CaduceeError as exc:
        raise problem(exc) from None
    sanction = await SanctionService(state.database, now=clock(state)).impose(
        mailbox.id, body.level, body.reason, OPERATOR_ACTOR
    )
    if (gate := submission_gate(state)) is not None:
        gate.forget(mailbox.id)
    return _sanction_json(sanction)


@router.post("/api/v1/console/sanctions/{sanction_id}/lift", tags=["console"])
async def lift_sanction(sanction_id: int, _op: ConsoleOperator, state: State) -> Any:
    await SanctionService(state.database, now=clock(state)).lift(sanction_id)
    if (gate := submission_gate(state)) is not None:
        gate.forget()
    return {"id": sanction_id, "lifted": True}


@router.get("/api/v1/policy/sanctions", tags=["moderation"])
async def my_sanctions(agent: Agent, state: State) -> dict[str, Any]:
    """What the sender may see: their sanctions and their held messages, with the charter."""
    sanctions = await SanctionService(state.database).of(agent.mailbox_id)
    holds = await moderation_service(state).for_sender(agent.mailbox_id)
    return {
        "sanctions": [_sanction_json(s) for s in sanctions],
        "holds": [{k: v for k, v in _hold_json(h).items() if k != "decided_by"} for h in holds],
        "charter_url": charter_url(state),
    }
