"""The relay's HTTP face for agents (every route needs an access token).

- ``POST /api/v1/messages``: JSON {message_id, from, to[], date, subject, ciphertext} where
  ``ciphertext`` is the base64 of a DER CMS envelopedData/authEnvelopedData; or the DER
  itself as ``application/pkcs7-mime`` with the envelope in ``Caducee-Message-Id``,
  ``Caducee-From``, ``Caducee-To`` (comma-separated), ``Caducee-Date`` and
  ``Caducee-Subject`` (percent-encoded UTF-8) headers, which spares both sides the base64
  and the JSON. 201 when accepted, 200 with the same answer for an idempotent retry (same
  id, same ciphertext).
- ``GET /api/v1/mailbox/messages?cursor=&limit=``: the caller's unacknowledged messages
  after ``cursor`` (a sequence number), with ``next_cursor``.
- ``GET /api/v1/mailbox/messages/{id}``: the ciphertext, ``application/pkcs7-mime``.
- ``POST /api/v1/mailbox/messages/{id}/ack``: the caller's agent has it (idempotent); an
  optional JSON {acknowledgement: base64 CMS SignedData of a ``caducee-ack/1`` statement}
  signed with the mailbox's key, kept and referenced by the ConsignmentAcceptance record.
- ``POST /api/v1/mailbox/fetch``: JSON {message_ids: [...]} (at most 50): their ciphertexts
  in one answer and one transaction, {messages: [{message_id, sequence, ciphertext_sha256,
  ciphertext (base64)} or {message_id, problem}]}, in order; past 8 MiB of ciphertext the
  rest answer ``fetch-alone`` (413) and stay unfetched.
- ``POST /api/v1/mailbox/acknowledgements``: JSON {acknowledgements: [{message_id,
  acknowledgement?}, ...]} (at most 200): the same, for many messages in one transaction;
  answers {results: [...]} in order, each {message_id, state, sequence} or {message_id,
  problem: {status, code, detail}} (one refused changes nothing of itself, stops no other).
- A submission held for moderation answers 202 {status: "held", detail, hold_id,
  charter_url}: kept, not delivered until a moderator releases it.
- ``GET /api/v1/mailbox/events?cursor=``: Server-Sent Events, one ``message`` event (id =
  sequence, data = {sequence, message_id}) per delivery; ``Last-Event-ID`` resumes.
- ``GET /api/v1/mailbox/wait?cursor=&timeout=``: long-poll fallback; answers as soon as
  there is something after ``cursor``, or empty after ``timeout`` seconds.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import Field, ValidationError

from caducee.directory import AuthenticatedMailbox
from caducee.errors import CaduceeError
from caducee.relay import Envelope, MailboxItem, RelayService, SubmissionHeld
from caducee.relay.acknowledgement import MAX_ACK_SIZE
from caducee.server.auth import Agent, notifier, relay_service, server_state
from caducee.server.domain_problems import to_problem
from caducee.server.problems import ProblemError
from caducee.server.requests import MAX_DB_INTEGER, StrictRequest
from caducee.server.state import ServerState

__all__ = ["SMIME_MEDIA_TYPE", "SUBMIT_PATH", "accept_submission", "router"]

router = APIRouter(prefix="/api/v1", tags=["relay"])
State = Annotated[ServerState, Depends(server_state)]
SMIME_MEDIA_TYPE = "application/pkcs7-mime; smime-type=enveloped-data"
HEARTBEAT_SECONDS = 15.0
SUBMIT_PATH = "/api/v1/messages"
MAX_WAIT_SECONDS = 300.0


class SubmitRequest(StrictRequest):
    message_id: str = Field(min_length=1, max_length=200)
    sender: str = Field(alias="from", min_length=3, max_length=320)
    to: list[str] = Field(min_length=1, max_length=100)
    date: str = Field(default="", max_length=64)
    subject: str = Field(default="Document concernant votre patient", max_length=200)
    ciphertext: str = Field(min_length=1)


def _item_json(item: MailboxItem) -> dict[str, Any]:
    data = asdict(item)
    data["stored_at"] = item.stored_at.isoformat()
    return data


def _base64_limit(max_size: int) -> int:
    return (max_size + 2) // 3 * 4 + 4


async def _read_body(request: Request, limit: int) -> bytes:
    """The request body, or 413 as soon as it exceeds ``limit`` bytes."""
    too_large = ProblemError(413, "message-too-large", "the message is too large for this relay")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


async def _json_submission(request: Request, max_size: int) -> tuple[Envelope, bytes]:
    # The envelope fields are small: allow them 64 KiB beside the base64 ciphertext.
    raw = await _read_body(request, _base64_limit(max_size) + 65_536)
    try:
        body = SubmitRequest.model_validate_json(raw)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e.get("loc", ()))} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from None
    if len(body.ciphertext) > _base64_limit(max_size):
        raise ProblemError(413, "message-too-large", f"a message may not exceed {max_size} bytes")
    try:
        ciphertext = base64.b64decode(body.ciphertext, validate=True)
    except (binascii.Error, ValueError):
        raise ProblemError(400, "invalid-request", "ciphertext must be base64") from None
    envelope = Envelope(body.message_id, body.sender, tuple(body.to), body.date, body.subject)
    return envelope, ciphertext


async def _raw_submission(request: Request, max_size: int) -> tuple[Envelope, bytes]:
    headers = request.headers
    missing = [h for h in ("caducee-message-id", "caducee-from", "caducee-to") if h not in headers]
    if missing:
        raise ProblemError(400, "invalid-request", f"missing header(s): {', '.join(missing)}")
    recipients = tuple(a.strip() for a in headers["caducee-to"].split(",") if a.strip())
    envelope = Envelope(
        headers["caducee-message-id"].strip(),
        headers["caducee-from"],
        recipients,
        headers.get("caducee-date", ""),
        unquote(headers.get("caducee-subject", SubmitRequest.model_fields["subject"].default)),
    )
    ciphertext = await _read_body(request, max_size)
    if not ciphertext:
        raise ProblemError(400, "invalid-request", "the body is the DER of the CMS message")
    return envelope, ciphertext


_SUBMIT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": SubmitRequest.model_json_schema(by_alias=True)},
            "application/pkcs7-mime": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


@router.post(
    "/messages",
    status_code=201,
    summary="Submit an encrypted message",
    openapi_extra=_SUBMIT_BODY,
)
async def submit(request: Request, agent: Agent, state: State) -> JSONResponse:
    return await accept_submission(request, agent, state)


async def accept_submission(
    request: Request, agent: AuthenticatedMailbox, state: ServerState
) -> JSONResponse:
    """The submission itself, shared by the route and :mod:`caducee.server.fast_submit`.

    Raises ``ProblemError`` or ``RequestValidationError`` for the caller to render.
    """
    service = relay_service(state)
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type == "application/pkcs7-mime":
        envelope, ciphertext = await _raw_submission(request, service.max_size)
    else:
        envelope, ciphertext = await _json_submission(request, service.max_size)
    try:
        receipt = await service.submit(
            sender_mailbox_id=agent.mailbox_id,
            sender_address=agent.address,
            envelope=envelope,
            ciphertext=ciphertext,
        )
    except SubmissionHeld as held:
        return _held_answer(envelope.message_id, held)
    except CaduceeError as exc:
        raise to_problem(exc) from None
    answer = {
        "message_id": receipt.message_id,
        "accepted_at": receipt.accepted_at.isoformat(),
        "recipients": list(receipt.recipients),
        "ciphertext_sha256": receipt.ciphertext_sha256,
    }
    return JSONResponse(answer, status_code=201 if receipt.created else 200)


@router.get("/mailbox/messages", summary="List my unacknowledged messages after a cursor")
async def list_messages(
    agent: Agent,
    state: State,
    cursor: Annotated[int, Query(ge=0, le=MAX_DB_INTEGER)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    page = await relay_service(state).list_mailbox(agent.mailbox_id, cursor, limit)
    return {"messages": [_item_json(i) for i in page.items], "next_cursor": page.next_cursor}


@router.get("/mailbox/messages/{message_id}", summary="Fetch a ciphertext (application/pkcs7-mime)")
async def fetch(message_id: str, agent: Agent, state: State) -> Response:
    try:
        item, body = await relay_service(state).fetch(agent.mailbox_id, message_id)
    except CaduceeError as exc:
        raise to_problem(exc) from None
    digest = base64.b64encode(bytes.fromhex(item.ciphertext_sha256)).decode()
    headers = {
        "Content-Disposition": 'attachment; filename="smime.p7m"',
        "Repr-Digest": f"sha-256=:{digest}:",  # RFC 9530
        "X-Caducee-Sequence": str(item.sequence),
    }
    return Response(body, media_type=SMIME_MEDIA_TYPE, headers=headers)


def _held_answer(message_id: str, held: SubmissionHeld) -> JSONResponse:
    """202: kept, not delivered, until a moderator decides (the sender is told why)."""
    answer = {
        "message_id": message_id,
        "status": "held",
        "code": held.code,
        "detail": held.reason,
        "hold_id": held.hold_id,
        "charter_url": held.charter_url,
    }
    return JSONResponse(answer, status_code=202)


class AckRequest(StrictRequest):
    """The recipient's signed acknowledgement (base64 DER CMS SignedData), optional."""

    acknowledgement: str | None = Field(default=None, max_length=2 * MAX_ACK_SIZE)


@router.post("/mailbox/messages/{message_id}/ack", summary="Acknowledge a message")
async def acknowledge(
    message_id: str, agent: Agent, state: State, body: AckRequest | None = None
) -> dict[str, Any]:
    signed = _decoded_acknowledgement(body.acknowledgement if body is not None else None)
    try:
        item = await relay_service(state).acknowledge(agent.mailbox_id, message_id, signed)
    except CaduceeError as exc:
        raise to_problem(exc) from None
    return {"message_id": item.message_id, "state": item.state, "sequence": item.sequence}


MAX_FETCH_PER_REQUEST = 50
MAX_FETCH_BYTES = 8 * 1024 * 1024


class FetchRequest(StrictRequest):
    message_ids: list[Annotated[str, Field(min_length=1, max_length=998)]] = Field(
        min_length=1, max_length=MAX_FETCH_PER_REQUEST
    )


def _problem_json(exc: CaduceeError) -> dict[str, Any]:
    problem = to_problem(exc)
    return {"status": problem.status, "code": problem.code, "detail": problem.reason}


@router.post("/mailbox/fetch", summary="Fetch many ciphertexts at once (one answer each)")
async def fetch_many(body: FetchRequest, agent: Agent, state: State) -> dict[str, Any]:
    outcomes = await relay_service(state).fetch_many(
        agent.mailbox_id, body.message_ids, max_bytes=MAX_FETCH_BYTES
    )
    messages: list[dict[str, Any]] = []
    for message_id, outcome in zip(body.message_ids, outcomes, strict=True):
        if isinstance(outcome, CaduceeError):
            messages.append({"message_id": message_id, "problem": _problem_json(outcome)})
            continue
        item, ciphertext = outcome
        messages.append(
            {
                "message_id": item.message_id,
                "sequence": item.sequence,
                "ciphertext_sha256": item.ciphertext_sha256,
                "ciphertext": base64.b64encode(ciphertext).decode("ascii"),
            }
        )
    return {"messages": messages}


MAX_ACKS_PER_REQUEST = 200


class OneAcknowledgement(StrictRequest):
    message_id: str = Field(min_length=1, max_length=998)
    acknowledgement: str | None = Field(default=None, max_length=2 * MAX_ACK_SIZE)


class AcknowledgementsRequest(StrictRequest):
    acknowledgements: list[OneAcknowledgement] = Field(
        min_length=1, max_length=MAX_ACKS_PER_REQUEST
    )


def _decoded_acknowledgement(text: str | None) -> bytes | None:
    if text is None:
        return None
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        raise ProblemError(
            422, "invalid-acknowledgement", "the acknowledgement is not base64"
        ) from None


@router.post(
    "/mailbox/acknowledgements",
    summary="Acknowledge many messages at once (one transaction, one answer each)",
)
async def acknowledge_many(
    body: AcknowledgementsRequest, agent: Agent, state: State
) -> dict[str, Any]:
    wanted = [
        (one.message_id, _decoded_acknowledgement(one.acknowledgement))
        for one in body.acknowledgements
    ]
    outcomes = await relay_service(state).acknowledge_many(agent.mailbox_id, wanted)
    results: list[dict[str, Any]] = []
    for (message_id, _), outcome in zip(wanted, outcomes, strict=True):
        if isinstance(outcome, CaduceeError):
            results.append({"message_id": message_id, "problem": _problem_json(outcome)})
        else:
            results.append(
                {"message_id": outcome.message_id, "state": outcome.state,
                 "sequence": outcome.sequence}
            )  # fmt: skip
    return {"results": results}


async def _wait_for_items(
    service: RelayService, state: ServerState, mailbox_id: int, cursor: int, timeout: float
) -> list[MailboxItem]:
    async with notifier(state).subscribe(mailbox_id) as subscription:
        page = await service.list_mailbox(mailbox_id, cursor)
        if page.items or timeout <= 0:
            return list(page.items)
        await subscription.wait(timeout)
    return list((await service.list_mailbox(mailbox_id, cursor)).items)


@router.get("/mailbox/wait", summary="Long-poll: wait for messages after a cursor")
async def wait(
    agent: Agent,
    state: State,
    cursor: Annotated[int, Query(ge=0, le=MAX_DB_INTEGER)] = 0,
    timeout: Annotated[float, Query(ge=0, le=MAX_WAIT_SECONDS)] = 30.0,
) -> dict[str, Any]:
    items = await _wait_for_items(relay_service(state), state, agent.mailbox_id, cursor, timeout)
    next_cursor = items[-1].sequence if items else cursor
    return {"messages": [_item_json(i) for i in items], "next_cursor": next_cursor}


def _event(item: MailboxItem) -> str:
    data = json.dumps({"sequence": item.sequence, "message_id": item.message_id})
    return f"id: {item.sequence}\nevent: message\ndata: {data}\n\n"


@router.get("/mailbox/events", summary="Server-Sent Events: new messages (ids only)")
async def events(
    request: Request,
    agent: Agent,
    state: State,
    cursor: Annotated[int, Query(ge=0, le=MAX_DB_INTEGER)] = 0,
    timeout: Annotated[float, Query(gt=0, le=3600)] = 900.0,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    if last_event_id and last_event_id.isdigit():
        cursor = max(cursor, int(last_event_id))
    service = relay_service(state)

    async def stream() -> AsyncIterator[str]:
        position, deadline = cursor, time.monotonic() + timeout
        yield "retry: 3000\n\n"
        while not await request.is_disconnected():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            items = await _wait_for_items(
                service, state, agent.mailbox_id, position, min(remaining, HEARTBEAT_SECONDS)
            )
            for item in items:
                position = item.sequence
                yield _event(item)
            if not items:
                yield ": keep-alive\n\n"

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)
