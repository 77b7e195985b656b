"""The evidence log's HTTP face (thin: parse, call :mod:`caducee.evidence`, render).

- ``GET /api/v1/ledger/checkpoint``: the latest C2SP signed checkpoint, ``text/plain``; a
  new one is signed when there is none or it is stale. Public, as are ``key`` and
  ``consistency``: sizes, hashes and the log's key say nothing about anyone.
- ``GET /api/v1/ledger/key``: the note verifier key agents pin, ``text/plain``.
- ``GET /api/v1/ledger/records/{index}``: a receipt (record + RFC 9162 §2.1.3 inclusion
  proof + signed checkpoint, optionally its RFC 3161 token), ``caducee-receipt/1`` JSON. A
  record names who wrote to whom (mail) or who was called about a case (MISS): health
  metadata. The operator (operator token) reads any; a mailbox (bearer token) reads those
  naming its address as actor, sender or recipient; anyone else, with no token or another
  mailbox's, gets the 404 of an absent index, word for word (no oracle). A bad or expired
  token is a 401 and a MISS device token a 403, as everywhere. Certificate records are no
  exception: key transparency reads them through ``certificates/{sha256}``, never by index.
- ``GET /api/v1/ledger/consistency?first=&second=``: RFC 9162 §2.1.4 consistency proof.
- ``GET /api/v1/ledger/messages/{message_id}/records``: the receipts of one message, for its
  sender and recipients only (bearer token); anyone else gets 404, as for an unknown id.
- ``GET /api/v1/ledger/messages/{message_id}/journey``: the same receipts and the signed
  acknowledgements in one ``caducee-journey/1`` file, for ``caducee verify``.
- ``GET /api/v1/ledger/messages/{message_id}/acknowledgements``: the recipients' signed
  acknowledgements (base64 CMS), for the same parties.
- ``GET /api/v1/ledger/certificates/{sha256}``: {issued, revoked} receipts of a certificate
  (key transparency: agents encrypt only for certificates found here); 404
  ``certificate-not-in-log`` otherwise.
- ``GET /api/v1/ledger/certificates?address=``: every certificate of a mailbox with its log
  indexes, for its agent to spot one it did not ask for.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy import exists, select

from caducee.directory.certificates import CertificateRegistry
from caducee.errors import CaduceeError
from caducee.evidence import EvidenceError, EvidenceLog, InvalidTreeRange, UnknownRecord
from caducee.ledger import EvidenceEvent, EvidenceRecord
from caducee.ledger.journey import make_journey
from caducee.relay.models import Delivery, Message
from caducee.server.auth import (
    Agent,
    authenticated_mailbox,
    bearer_token,
    clock,
    is_operator,
    relay_service,
)
from caducee.server.domain_problems import to_problem
from caducee.server.problems import ProblemError
from caducee.server.state import ServerState, get_state

__all__ = ["EVIDENCE_LOG_KEY", "RECEIPT_MEDIA_TYPE", "router"]

router = APIRouter(prefix="/api/v1/ledger", tags=["ledger"])
State = Annotated[ServerState, Depends(get_state)]
EVIDENCE_LOG_KEY = "evidence_log"
RECEIPT_MEDIA_TYPE = "application/json"
MAX_INDEX = 2**62
SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")


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


def _no_record() -> ProblemError:
    """The one answer for an absent record and for one the caller may not read.

    Word for word the same (the index is not repeated in it), so that an outsider cannot
    tell a record that exists but is not theirs from an index beyond the log.
    """
    return ProblemError(
        404,
        UnknownRecord.code,
        "aucune preuve à cet index que vous puissiez lire / "
        "no evidence record at this leaf index that you may read",
    )


def _named_in(record: EvidenceRecord) -> set[str]:
    """Every address a record names: its actor, its sender and its recipients."""
    names = (record.actor_id, record.sender_id, *record.recipient_ids)
    return {name.casefold() for name in names if name}


async def _record_reader(request: Request, state: ServerState) -> Callable[[EvidenceRecord], bool]:
    """Which records the caller may read by index: every one (the operator), those naming
    its mailbox (an agent), none (no token). A bad or expired token is a 401, as elsewhere."""
    if is_operator(request, state):
        return lambda _record: True
    if bearer_token(request) is None:
        return lambda _record: False
    address = (await authenticated_mailbox(request, state)).address.casefold()
    return lambda record: address in _named_in(record)


@router.get(
    "/records/{index}",
    summary="A record's receipt, for the parties it names and the operator (404 for others)",
)
async def get_record(index: int, request: Request, state: State) -> Response:
    """A receipt of the record at this leaf index, in a checkpoint that includes it.

    Who may read it is settled before any checkpoint is signed: an outsider's request
    changes nothing in the log."""
    log = _log(state)
    may_read = await _record_reader(request, state)
    if not 0 <= index < MAX_INDEX:
        raise _no_record()
    try:
        if index >= await log.size() or not may_read((await log.record(index)).record):
            raise _no_record()
        checkpoint = await log.current_checkpoint(clock(state)(), covering=index)
        receipt = await log.receipt(index, checkpoint)
    except UnknownRecord:
        raise _no_record() from None
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


async def _receipt_json(state: ServerState, index: int) -> dict[str, Any]:
    log = _log(state)
    checkpoint = await log.current_checkpoint(clock(state)(), covering=index)
    return (await log.receipt(index, checkpoint)).to_json_dict()


@router.get("/messages/{message_id:path}/acknowledgements")
async def get_acknowledgements(message_id: str, agent: Agent, state: State) -> JSONResponse:
    """The recipients' signed acknowledgements of one message, for its parties."""
    if not await _is_party(state, message_id, agent.mailbox_id):
        raise ProblemError(404, "unknown-message", "no message with this id in your mailboxes")
    found = await relay_service(state).acknowledgements(message_id)
    items = [
        {"recipient": address, "acknowledgement": base64.b64encode(der).decode("ascii")}
        for address, der in found
    ]
    return JSONResponse({"message_id": message_id, "acknowledgements": items})


@router.get("/certificates/{sha256}")
async def get_certificate_records(sha256: str, _agent: Agent, state: State) -> JSONResponse:
    """The receipts of a certificate's issuance and, if any, revocation."""
    if not SHA256_HEX.fullmatch(sha256):
        raise ProblemError(422, "invalid-request", "a certificate digest is 64 hex digits")
    async with state.database.sessions() as session:
        indexes = await CertificateRegistry.log_indexes(session, sha256.lower())
    issued = indexes.get(EvidenceEvent.CERTIFICATE_ISSUED.value)
    if issued is None:
        raise ProblemError(
            404,
            "certificate-not-in-log",
            "this certificate is not in the transparency log: do not encrypt for it",
        )
    revoked = indexes.get(EvidenceEvent.CERTIFICATE_REVOKED.value)
    try:
        answer = {
            "issued": await _receipt_json(state, issued),
            "revoked": None if revoked is None else await _receipt_json(state, revoked),
        }
    except EvidenceError as exc:
        raise _problem(exc) from None
    return JSONResponse(answer)


@router.get("/certificates")
async def get_mailbox_certificates(
    address: Annotated[str, Query(min_length=3, max_length=320)], _agent: Agent, state: State
) -> dict[str, Any]:
    """Every certificate of a mailbox, with where its records are in the log."""
    try:
        entries = await CertificateRegistry(state.database).of_mailbox(address)
    except CaduceeError as exc:
        raise to_problem(exc) from None
    return {
        "address": address.strip().lower(),
        "certificates": [
            {
                "sha256": e.sha256,
                "serial": e.serial_hex,
                "not_after": e.not_after.isoformat(),
                "revoked_at": None if e.revoked_at is None else e.revoked_at.isoformat(),
                "issued_index": e.issued_index,
                "revoked_index": e.revoked_index,
            }
            for e in entries
        ],
    }


@router.get("/messages/{message_id:path}/journey")
async def get_message_journey(message_id: str, agent: Agent, state: State) -> Response:
    """A ``caducee-journey/1`` file: every receipt and signed acknowledgement of a message,
    which ``caducee verify`` checks offline."""
    receipts = await _message_receipts(state, message_id, agent.mailbox_id)
    if not receipts:
        raise ProblemError(404, "unknown-message", "no evidence for this message yet")
    acks = [der for _, der in await relay_service(state).acknowledgements(message_id)]
    name = re.sub(r"[^A-Za-z0-9._-]", "_", message_id)[:80]
    return Response(
        make_journey(message_id, receipts, acks),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="parcours-{name}.json"'},
    )


@router.get("/messages/{message_id:path}/records")
async def get_message_records(message_id: str, agent: Agent, state: State) -> JSONResponse:
    """The receipts of every record of one message, against one checkpoint."""
    receipts = await _message_receipts(state, message_id, agent.mailbox_id)
    return JSONResponse({"message_id": message_id, "receipts": receipts})


async def _message_receipts(
    state: ServerState, message_id: str, mailbox_id: int
) -> list[dict[str, Any]]:
    log = _log(state)
    if not await _is_party(state, message_id, mailbox_id):
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
    return receipts
