"""HTTP routes of the prescriptions part; ``start`` runs its background work.

All under ``/api/v1/prescriptions`` (problem+json on refusal, codes from
``caducee.prescriptions.errors``):

- prescriber: ``POST /tasks`` ($create), ``POST /tasks/{id}/activate`` (base64 CMS of the
  bundle), ``POST /tasks/{id}/abort``, ``GET /tasks``, ``GET /tasks/{id}``;
- pharmacy: ``GET /tasks/{id}?ac=`` (the paper code), ``POST /tasks/{id}/accept`` (access
  code, or ``X-Card-Access``), ``/reject`` and ``/close`` (with the secret);
  ``GET /patient/prescriptions`` and ``GET /patient/history?consent=true`` with
  ``X-Card-Access``;
- card: ``POST /card/challenge`` and ``POST /card/access`` (a pharmacy's bearer token binds
  the challenge to it; without one the audience is the patient);
- patient (``X-Card-Access`` of the patient's own card): ``GET /me/access-log``,
  ``PUT /me/history-refusal``;
- ``GET /drugs?q=`` (any mailbox), ``GET /receipt-key`` (public).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import os
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from fastapi import APIRouter, Depends, Header, Query, Request
from pydantic import Field

from caducee.background import BackgroundLoop
from caducee.directory import AuthenticatedMailbox
from caducee.errors import CaduceeError
from caducee.evidence import EvidenceLog
from caducee.prescriptions import (
    PATIENT_AUDIENCE,
    CardAccess,
    CardAccessExpired,
    CardAccessNotYours,
    CardRejected,
    CardVerifier,
    DispenseItem,
    DispenseRejected,
    InvalidPaperCode,
    InvalidPrescription,
    InvalidPrescriptionId,
    NotAllowed,
    Outcome,
    PaperCode,
    PrescriptionService,
    SignatureRejected,
    TaskView,
    TransitionRefused,
    UnknownTask,
    load_caller,
    paper_code_payload,
    sample_bdpm,
)
from caducee.prescriptions.roles import Caller, Role
from caducee.server.auth import Agent, authenticated_mailbox, bearer_token, clock, server_state
from caducee.server.problems import ProblemError
from caducee.server.requests import StrictRequest
from caducee.server.state import ServerState

__all__ = ["CARD_CA_FOLDER", "SERVICE_KEY", "load_card_anchors", "router", "service", "start"]

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/prescriptions", tags=["prescriptions"])
State = Annotated[ServerState, Depends(server_state)]
SERVICE_KEY = "prescriptions"
CARD_CA_FOLDER = "card-ca"  # <data>/prescriptions/card-ca/*.pem: the trusted card CAs
EXPIRY_SWEEP_SECONDS = 60.0
MAX_CMS_BASE64 = 400 * 1024

STATUS_BY_ERROR: tuple[tuple[type[CaduceeError], int], ...] = (
    (CardAccessExpired, 401),
    (CardAccessNotYours, 403),
    (CardRejected, 403),
    (NotAllowed, 403),
    (UnknownTask, 404),
    (TransitionRefused, 409),
    (SignatureRejected, 422),
    (InvalidPrescription, 422),
    (DispenseRejected, 422),
    (InvalidPrescriptionId, 400),
    (InvalidPaperCode, 400),
)


def _problem(exc: CaduceeError) -> ProblemError:
    status = next((s for kind, s in STATUS_BY_ERROR if isinstance(exc, kind)), 400)
    extra: dict[str, Any] = {}
    if isinstance(exc, TransitionRefused):
        extra["status_now"] = exc.status
    return ProblemError(status, exc.code, exc.reason, **extra)


def _folder(state: ServerState) -> Path:
    return state.settings.data_dir / "prescriptions"


def _hmac_key(folder: Path) -> bytes:
    """``<data>/prescriptions/hmac.key`` (32 random bytes, mode 0600), created once."""
    path = folder / "hmac.key"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes()
    with os.fdopen(fd, "wb") as handle:
        handle.write(secrets.token_bytes(32))
    return path.read_bytes()


def load_card_anchors(folder: Path) -> list[x509.Certificate]:
    """The card CA certificates (PEM) in ``folder``."""
    if not folder.is_dir():
        return []
    anchors = []
    for path in sorted(folder.glob("*.pem")):
        anchors += x509.load_pem_x509_certificates(path.read_bytes())
    return anchors


def service(state: ServerState) -> PrescriptionService:
    svc: PrescriptionService = state.extras[SERVICE_KEY]
    return svc


async def start(state: ServerState) -> Callable[[], Awaitable[None]] | None:
    """Build the service (key, card CAs, drug sample if empty); sweep expired tasks."""
    folder = _folder(state)
    key = await asyncio.to_thread(_hmac_key, folder)
    anchors = await asyncio.to_thread(load_card_anchors, folder / CARD_CA_FOLDER)
    evidence: EvidenceLog = state.extras["evidence_log"]

    def now() -> Any:
        return clock(state)()

    access = CardAccess(state.database, CardVerifier(anchors), now=now)
    svc = PrescriptionService(state.database, evidence, access, hmac_key=key, now=now)
    state.extras[SERVICE_KEY] = svc
    if await svc.drugs.count() == 0:
        sample = await asyncio.to_thread(sample_bdpm)
        await svc.drugs.replace(sample.drugs)
        log.info("drug catalogue seeded with the synthetic sample (%d)", len(sample.drugs))

    loop = BackgroundLoop("prescriptions-expiry")

    async def sweep() -> None:
        while await loop.pause(EXPIRY_SWEEP_SECONDS):
            try:
                count = await svc.expire_due()
                if count:
                    log.info("%d prescriptions expired", count)
                await svc.access.purge()
            except Exception:  # a sweep never stops the server; the next one retries
                log.exception("prescription expiry sweep failed")

    loop.start(sweep)
    return loop.stop


async def _caller(state: ServerState, mailbox: AuthenticatedMailbox) -> Caller:
    async with state.database.sessions() as session:
        return await load_caller(session, mailbox.mailbox_id, mailbox.address)


async def optional_agent(request: Request, state: State) -> AuthenticatedMailbox | None:
    """The caller's mailbox when a bearer token is sent (pharmacy), else None (patient)."""
    if bearer_token(request) is None:
        return None
    return await authenticated_mailbox(request, state)


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ProblemError(400, "invalid-base64", f"{what} is not base64") from None


def _task_json(view: TaskView, **extra: Any) -> dict[str, Any]:
    def t(value: Any) -> str | None:
        return None if value is None else value.isoformat()

    body: dict[str, Any] = {
        "id": view.id,
        "status": view.status.value,
        "prescriber": view.prescriber,
        "pharmacy": view.pharmacy,
        "created_at": t(view.created_at),
        "activated_at": t(view.activated_at),
        "accepted_at": t(view.accepted_at),
        "completed_at": t(view.completed_at),
        "cancelled_at": t(view.cancelled_at),
        "expires_at": t(view.expires_at),
        "cancel_reason": view.cancel_reason,
        "bundle_sha256": view.bundle_sha256,
        "dispense": [d.to_json() for d in view.dispense],
    }
    if view.signed_bundle is not None:
        body["signed_bundle"] = base64.b64encode(view.signed_bundle).decode("ascii")
    if view.prescription is not None:
        p = view.prescription
        body["prescription"] = {
            "patient": {
                "family": p.patient_family,
                "given": p.patient_given,
                "birth_date": p.birth_date.isoformat(),
            },
            "prescriber_name": p.prescriber_name,
            "authored_on": p.authored_on.isoformat(),
            "lines": [
                {
                    "line": i + 1,
                    "code": line.drug.code if line.drug else None,
                    "system": line.drug.system if line.drug else None,
                    "label": line.label or line.preparation,
                    "dosage": line.dosage.text_fr(),
                    "dosage_en": line.dosage.text_en(),
                    "quantity": line.quantity,
                    "renewals": line.renewals,
                }
                for i, line in enumerate(p.lines)
            ],
        }
    if view.receipt is not None:
        body["receipt"] = view.receipt
    body.update(extra)
    return body


# -- prescriber ------------------------------------------------------------------------------


@router.post("/tasks", status_code=201)
async def create_task(state: State, agent: Agent) -> dict[str, Any]:
    try:
        caller = await _caller(state, agent)
        task_id, code = await service(state).create(caller)
    except CaduceeError as exc:
        raise _problem(exc) from None
    return {
        "id": task_id,
        "status": "draft",
        "access_code": code,
        "paper_code": paper_code_payload(PaperCode(task_id, code)),
    }


class ActivateRequest(StrictRequest):
    signed_bundle: str = Field(min_length=1, max_length=MAX_CMS_BASE64)


@router.post("/tasks/{task_id}/activate")
async def activate_task(
    task_id: str, body: ActivateRequest, state: State, agent: Agent
) -> dict[str, Any]:
    signed = _b64(body.signed_bundle, "signed_bundle")
    try:
        view = await service(state).activate(await _caller(state, agent), task_id, signed)
    except CaduceeError as exc:
        raise _problem(exc) from None
    return _task_json(view)


@router.post("/tasks/{task_id}/abort")
async def abort_task(task_id: str, state: State, agent: Agent) -> dict[str, Any]:
    try:
        view = await service(state).abort(await _caller(state, agent), task_id)
    except CaduceeError as exc:
        raise _problem(exc) from None
    return _task_json(view)


@router.get("/tasks")
async def list_tasks(
    state: State, agent: Agent, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> dict[str, Any]:
    try:
        views = await service(state).prescriber_list(await _caller(state, agent), limit)
    except CaduceeError as exc:
        raise _problem(exc) from None
    return {"tasks": [_task_json(v) for v in views]}


@router.get("/tasks/{task_id}")
async def get_task(
    task_id: str,
    state: State,
    agent: Agent,
    ac: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    """The prescriber sees their own; a pharmacy needs the paper code's access code."""
    svc = service(state)
    try:
        caller = await _caller(state, agent)
        if ac is None:
            view = await svc.prescriber_view(caller, task_id)
            return _task_json(view, access_code=svc.access_code(view.id))
        return _task_json(await svc.open_by_code(caller, task_id, ac))
    except CaduceeError as exc:
        raise _problem(exc) from None


# -- pharmacy --------------------------------------------------------------------------------

CardHeader = Annotated[str | None, Header(alias="X-Card-Access", max_length=200)]


class AcceptRequest(StrictRequest):
    access_code: str | None = Field(default=None, max_length=64)


@router.post("/tasks/{task_id}/accept")
async def accept_task(
    task_id: str,
    state: State,
    agent: Agent,
    card: CardHeader = None,
    body: AcceptRequest | None = None,
) -> dict[str, Any]:
    code = body.access_code if body is not None else None
    if code is None and card is None:
        raise ProblemError(
            401,
            "access-code-required",
            "code d'accès (papier) ou carte requis / an access code or the card is required",
        )
    try:
        accepted = await service(state).accept(
            await _caller(state, agent),
            task_id,
            access_code=code,
            card_token=card if code is None else None,
        )
    except CaduceeError as exc:
        raise _problem(exc) from None
    return _task_json(accepted.view, secret=accepted.secret)


class SecretRequest(StrictRequest):
    secret: str = Field(min_length=1, max_length=64)


@router.post("/tasks/{task_id}/reject")
async def reject_task(
    task_id: str, body: SecretRequest, state: State, agent: Agent
) -> dict[str, Any]:
    try:
        view = await service(state).reject(await _caller(state, agent), task_id, body.secret)
    except CaduceeError as exc:
        raise _problem(exc) from None
    return _task_json(view)


class DispenseRequest(StrictRequest):
    line: int = Field(ge=1, le=100)
    outcome: Outcome
    quantity: int = Field(ge=0, le=100)
    code: str | None = Field(default=None, max_length=20)
    reason: str | None = Field(default=None, max_length=200)


class CloseRequest(StrictRequest):
    secret: str = Field(min_length=1, max_length=64)
    dispense: list[DispenseRequest] = Field(min_length=1, max_length=100)


@router.post("/tasks/{task_id}/close")
async def close_task(
    task_id: str, body: CloseRequest, state: State, agent: Agent
) -> dict[str, Any]:
    items = [DispenseItem(d.line, d.outcome, d.quantity, d.code, d.reason) for d in body.dispense]
    try:
        view = await service(state).close(await _caller(state, agent), task_id, body.secret, items)
    except CaduceeError as exc:
        raise _problem(exc) from None
    return _task_json(view)


@router.get("/patient/prescriptions")
async def patient_prescriptions(
    state: State, agent: Agent, card: CardHeader = None
) -> dict[str, Any]:
    try:
        views = await service(state).patient_open(await _caller(state, agent), card)
    except CaduceeError as exc:
        raise _problem(exc) from None
    return {"tasks": [_task_json(v) for v in views]}


@router.get("/patient/history")
async def patient_history(
    state: State, agent: Agent, card: CardHeader = None, consent: bool = False
) -> dict[str, Any]:
    try:
        views = await service(state).patient_history(
            await _caller(state, agent), card, consent=consent
        )
    except CaduceeError as exc:
        raise _problem(exc) from None
    return {"tasks": [_task_json(v) for v in views]}


# -- the card --------------------------------------------------------------------------------

OptionalAgent = Annotated[AuthenticatedMailbox | None, Depends(optional_agent)]


async def _audience(
    state: ServerState, agent: AuthenticatedMailbox | None
) -> tuple[str, int | None]:
    if agent is None:
        return PATIENT_AUDIENCE, None
    caller = await _caller(state, agent)
    if caller.role is not Role.PHARMACY:
        raise ProblemError(
            403, "not-allowed", "seule une pharmacie lit la carte / only a pharmacy reads the card"
        )
    return caller.address, caller.mailbox_id


@router.post("/card/challenge")
async def card_challenge(state: State, agent: OptionalAgent) -> dict[str, Any]:
    audience, _ = await _audience(state, agent)
    nonce, expires = await service(state).access.challenge(audience)
    return {"challenge": nonce, "audience": audience, "expires_at": expires.isoformat()}


class CardAccessRequest(StrictRequest):
    challenge: str = Field(min_length=64, max_length=64)
    certificate: str = Field(min_length=1, max_length=8192)
    signature: str = Field(min_length=1, max_length=2048)


@router.post("/card/access")
async def card_access(
    body: CardAccessRequest, state: State, agent: OptionalAgent
) -> dict[str, Any]:
    audience, mailbox_id = await _audience(state, agent)
    try:
        grant = await service(state).access.grant(
            audience=audience,
            mailbox_id=mailbox_id,
            nonce=body.challenge,
            certificate_der=_b64(body.certificate, "certificate"),
            signature=_b64(body.signature, "signature"),
        )
    except CaduceeError as exc:
        raise _problem(exc) from None
    return {"access_token": grant.token, "expires_at": grant.expires_at.isoformat()}


# -- the patient -----------------------------------------------------------------------------


@router.get("/me/access-log")
async def my_access_log(state: State, card: CardHeader = None) -> dict[str, Any]:
    access = service(state).access
    try:
        entries = await access.access_log(card)
        refused = await access.patient_refuses_history(card)
    except CaduceeError as exc:
        raise _problem(exc) from None
    return {
        "history_refused": refused,
        "events": [
            {
                "at": e.at.isoformat(),
                "actor": e.actor,
                "action": e.action,
                "prescription_id": e.prescription_id,
                "detail": e.detail,
            }
            for e in entries
        ],
    }


class RefusalRequest(StrictRequest):
    refused: bool


@router.put("/me/history-refusal")
async def my_history_refusal(
    body: RefusalRequest, state: State, card: CardHeader = None
) -> dict[str, Any]:
    try:
        refused = await service(state).access.set_history_refused(card, body.refused)
    except CaduceeError as exc:
        raise _problem(exc) from None
    return {"history_refused": refused}


# -- drugs and keys --------------------------------------------------------------------------


@router.get("/drugs")
async def search_drugs(
    state: State, agent: Agent, q: Annotated[str, Query(min_length=1, max_length=100)]
) -> dict[str, Any]:
    found = await service(state).drugs.search(q)
    return {
        "drugs": [
            {"cip13": d.cip13, "label": d.label, "form": d.form, "marketed": d.marketed}
            for d in found
        ]
    }


@router.get("/receipt-key")
async def receipt_key(state: State) -> dict[str, str]:
    """The Ed25519 public key (raw, base64) that signs dispensing receipts: the log's key."""
    public = service(state).log.identity.private_key.public_key()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"alg": "Ed25519", "key": base64.b64encode(raw).decode("ascii")}
