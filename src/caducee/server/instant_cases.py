"""MISS cases for agents: create, add and remove participants, post, list, acknowledge.

- ``POST /api/v1/instant/cases`` {participants, role} → 201 the case (addressed to people,
  to a role, or both; a role is resolved to whoever is on duty and starts its escalation).
- ``GET /api/v1/instant/cases`` → {cases}: the caller's.
- ``GET /api/v1/instant/cases/{id}`` → the case's metadata (participants only), with its
  ``escalation_reach``: the addresses the escalation may still add, whose devices may be
  sent sender keys ahead of time (they read nothing before they are added).
- ``POST /api/v1/instant/cases/{id}/participants`` {participants, role} → the case.
- ``DELETE /api/v1/instant/cases/{id}/participants/{address}`` → the case.
- ``POST /api/v1/instant/cases/{id}/messages`` {message_id, device_id, kind, ciphertext}
  → 201 {sequence} (200 for a retry of the same bytes).
- ``GET /api/v1/instant/cases/{id}/messages?device=&after=&limit=`` → {last_sequence, messages}.
- ``POST /api/v1/instant/cases/{id}/acknowledge`` {message_id, device_id, ciphertext}: an
  ``ack`` message ("je m'en occupe"), which stops the escalation when sent by someone the
  role reached.

Whoever is not in a case gets 404 ``instant-case-not-found`` for all of these.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import Field

from caducee.instant.cases import CaseService, CaseView, Posted
from caducee.instant.envelope import MessageKind
from caducee.server.auth import Agent
from caducee.server.instant_common import State, decode_base64, domain_errors, now_of
from caducee.server.requests import MAX_DB_INTEGER, StrictRequest
from caducee.server.state import ServerState

__all__ = ["case_service", "router"]

router = APIRouter(prefix="/api/v1/instant/cases", tags=["instant"])
Address = Annotated[str, Field(min_length=3, max_length=320)]

MAX_CIPHERTEXT_BASE64 = 1 << 22  # 3 MiB of ciphertext: photos go as files, not messages


def case_service(state: ServerState) -> CaseService:
    bus = state.extras.get("instant_bus")  # set by routes_instant.start
    return CaseService(
        state.database,
        state.extras.get("evidence_log"),
        now=now_of(state),
        on_commit=None if bus is None else bus.publish,
        batcher=state.extras.get("instant_posts"),  # set by routes_instant.start
    )


class CaseRequest(StrictRequest):
    participants: list[Address] = Field(default_factory=list, max_length=200)
    role: int | None = Field(default=None, ge=1, le=MAX_DB_INTEGER)


class ParticipantsRequest(CaseRequest):
    pass


class AcknowledgeRequest(StrictRequest):
    message_id: str = Field(min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$")
    device_id: str = Field(min_length=1, max_length=128)
    ciphertext: str = Field(min_length=1, max_length=MAX_CIPHERTEXT_BASE64)


class MessageRequest(AcknowledgeRequest):
    kind: MessageKind


def _case(view: CaseView) -> dict[str, Any]:
    return {
        "case_id": view.case_id,
        "created_by": view.created_by,
        "role": view.role_id,
        "participants": list(view.participants),
        "last_sequence": view.last_sequence,
        "retention_days": view.retention_days,
        "escalation_reach": list(view.escalation_reach),
        "escalation": {
            "level": view.escalation_level,
            "due_at": view.escalation_due_at.isoformat() if view.escalation_due_at else None,
            "acknowledged_by": view.acknowledged_by,
        },
    }


def _posted(posted: Posted) -> JSONResponse:
    body = {"case_id": posted.case_id, "sequence": posted.sequence, "created": posted.created}
    return JSONResponse(body, status_code=201 if posted.created else 200)


@router.post("", status_code=201, summary="Open a case, to people or to a role")
async def create_case(body: CaseRequest, agent: Agent, state: State) -> dict[str, Any]:
    with domain_errors():
        view = await case_service(state).create(agent.address, body.participants, body.role)
    return _case(view)


@router.get("", summary="My cases")
async def my_cases(agent: Agent, state: State) -> dict[str, Any]:
    return {"cases": [_case(v) for v in await case_service(state).cases_of(agent.address)]}


@router.get("/{case_id}", summary="A case's metadata")
async def get_case(case_id: str, agent: Agent, state: State) -> dict[str, Any]:
    with domain_errors():
        return _case(await case_service(state).view(agent.address, case_id))


@router.post("/{case_id}/participants", summary="Add people, or the people on duty for a role")
async def add_participants(
    case_id: str, body: ParticipantsRequest, agent: Agent, state: State
) -> dict[str, Any]:
    with domain_errors():
        view = await case_service(state).add_participants(
            agent.address, case_id, body.participants, body.role
        )
    return _case(view)


@router.delete("/{case_id}/participants/{address}", summary="Remove someone from a case")
async def remove_participant(
    case_id: str, address: str, agent: Agent, state: State
) -> dict[str, Any]:
    with domain_errors():
        view = await case_service(state).remove_participant(agent.address, case_id, address)
    return _case(view)


async def _post(
    state: ServerState, agent: Agent, case_id: str, body: AcknowledgeRequest, kind: MessageKind
) -> JSONResponse:
    ciphertext = decode_base64(body.ciphertext, "ciphertext")
    with domain_errors():
        posted = await case_service(state).post(
            agent.address,
            case_id,
            device_id=body.device_id,
            message_id=body.message_id,
            kind=kind,
            ciphertext=ciphertext,
        )
    return _posted(posted)


@router.post("/{case_id}/messages", status_code=201, summary="Post a ciphertext to a case")
async def post_message(
    case_id: str, body: MessageRequest, agent: Agent, state: State
) -> JSONResponse:
    return await _post(state, agent, case_id, body, body.kind)


@router.post("/{case_id}/acknowledge", status_code=201, summary="I'm handling it")
async def acknowledge(
    case_id: str, body: AcknowledgeRequest, agent: Agent, state: State
) -> JSONResponse:
    return await _post(state, agent, case_id, body, MessageKind.ACK)


@router.get("/{case_id}/messages", summary="Messages after a sequence number, for one device")
async def list_messages(
    case_id: str,
    agent: Agent,
    state: State,
    device: Annotated[str, Query(min_length=1, max_length=128)],
    after: Annotated[int, Query(ge=0, le=MAX_DB_INTEGER)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    with domain_errors():
        last, messages = await case_service(state).messages(
            agent.address, case_id, device_id=device, after=after, limit=limit
        )
    return {
        "case_id": case_id,
        "last_sequence": last,
        "messages": [
            {
                "sequence": m.sequence,
                "message_id": m.message_id,
                "kind": m.kind,
                "sender": m.sender_address,
                "sender_device_id": m.sender_device_id,
                "recipient_device_id": m.recipient_device_id,
                "ciphertext": base64.b64encode(m.ciphertext).decode(),
                "created_at": m.created_at.isoformat(),
            }
            for m in messages
        ],
    }
