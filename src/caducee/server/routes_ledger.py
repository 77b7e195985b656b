"""The evidence log's HTTP face (thin: parse, call :mod:`caducee.evidence`, render).

- ``GET /api/v1/ledger/checkpoint``: the latest C2SP signed checkpoint, ``text/plain``; a
  new one is signed when there is none or it is stale.
- ``GET /api/v1/ledger/key``: the note verifier key agents pin, ``text/plain``.
- ``GET /api/v1/ledger/records/{index}``: a receipt (record + RFC 9162 §2.1.3 inclusion
  proof + signed checkpoint, optionally its RFC 3161 token), ``caducee-receipt/1`` JSON.
- ``GET /api/v1/ledger/consistency?first=&second=``: RFC 9162 §2.1.4 consistency proof.
- ``GET /api/v1/ledger/messages/{message_id}/records``: the receipts of one message, for its
  sender and recipients only (bearer token); anyone else gets 404, as for an unknown id.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy import exists, select

from caducee.evidence import EvidenceError, EvidenceLog, InvalidTreeRange, UnknownRecord
from caducee.relay.models import Delivery, Message
from caducee.server.auth import Agent, clock
from caducee.server.problems import ProblemError
from caducee.server.state import ServerState, get_state

__all__ = ["EVIDENCE_LOG_KEY", "RECEIPT_MEDIA_TYPE", "router"]

router = APIRouter(prefix="/api/v1/ledger", tags=["ledger"])
State = Annotated[ServerState, Depends(get_state)]
EVIDENCE_LOG_KEY = "evidence_log"
RECEIPT_MEDIA_TYPE = "application/json"
MAX_INDEX = 2**62


def _log(state: ServerState) -> EvidenceLog:
    log = state.extras.get(EVIDENCE_LOG_KEY)
    if not isinstance(log, EvidenceLog):
        raise ProblemError(503, "ledger-unavailable", "the evidence log is not running")
    return log


def _problem(exc: EvidenceError) -> ProblemError:
    if isinstance(exc, UnknownRecord):
        return ProblemError(404, exc.code, exc.reason)
    if isinstance(exc, InvalidTreeRange):
        return ProblemError(400, exc.code, exc.reason)
    return ProblemError(500, exc.code, "the evidence log cannot answer; the operator is told")


@router.get("/checkpoint", response_class=PlainTextResponse)
async def get_checkpoint(state: State) -> PlainTextResponse:
    """The latest signed checkpoint (a C2SP signed note)."""
    try:
        checkpoint = await _log(state).current_checkpoint(clock(state)())
    except EvidenceError as exc:
        raise _problem(exc) from None
    return PlainTextResponse(checkpoint.note, headers={"Cache-Control": "no-store"})


@router.get("/key", response_class=PlainTextResponse)
async def get_key(state: State) -> PlainTextResponse:
    """``<origin>+<key ID>+<base64 Ed25519 key>``: what agents verify checkpoints with."""
    return PlainTextResponse(_log(state).identity.verifier_key_text + "\n")


@router.get("/records/{index}")
async def get_record(index: int, state: State) -> Response:
    """A receipt of the record at this leaf index, in a checkpoint that includes it."""
    log = _log(state)
    if not 0 <= index < MAX_INDEX:
        raise ProblemError(404, UnknownRecord.code, f"no evidence record at leaf index {index}")
    try:
        if index >= await log.size():
            raise UnknownRecord(f"no evidence record at leaf index {index}")
        checkpoint = await log.current_checkpoint(clock(state)(), covering=index)
        receipt = await log.receipt(index, checkpoint)
    except EvidenceError as exc:
        raise _problem(exc) from None
    return Response(receipt.to_bytes(), media_type=RECEIPT_MEDIA_TYPE)


@router.get("/consistency")
async def get_consistency(
    state: State,
    first: Annotated[int, Query(ge=0, lt=MAX_INDEX)],
    second: Annotated[int, Query(ge=0, lt=MAX_INDEX)],
) -> JSONResponse:
    """PROOF(first, D[second]) as base64 hashes."""
    try:
        proof = await _log(state).consistency(first, second)
    except EvidenceError as exc:
        raise _problem(exc) from None
    hashes = [base64.b64encode(h).decode("ascii") for h in proof]
    return JSONResponse({"first": first, "second": second, "proof": hashes})


async def _is_party(state: ServerState, message_id: str, mailbox_id: int) -> bool:
    """Whether this mailbox sent the message or is one of its recipients."""
    async with state.database.sessions() as session:
        message = await session.scalar(select(Message).where(Message.message_id == message_id))
        if message is None:
            return False
        if message.sender_mailbox_id == mailbox_id:
            return True
        delivered = exists().where(
            (Delivery.message_pk == message.id) & (Delivery.mailbox_id == mailbox_id)
        )
        return bool(await session.scalar(select(delivered)))


@router.get("/messages/{message_id:path}/records")
async def get_message_records(message_id: str, agent: Agent, state: State) -> JSONResponse:
    """The receipts of every record of one message, against one checkpoint."""
    log = _log(state)
    if not await _is_party(state, message_id, agent.mailbox_id):
        raise ProblemError(404, "unknown-message", "no message with this id in your mailboxes")
    try:
        records = await log.records_of(message_id)
        receipts: list[dict[str, Any]] = []
        if records:
            last = records[-1][0]
            checkpoint = await log.current_checkpoint(clock(state)(), covering=last)
            for index, _signed in records:
                receipts.append((await log.receipt(index, checkpoint)).to_json_dict())
    except EvidenceError as exc:
        raise _problem(exc) from None
    return JSONResponse({"message_id": message_id, "receipts": receipts})
