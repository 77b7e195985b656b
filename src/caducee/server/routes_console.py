"""The operator's console: establishments and the charter, moderation, the network's figures.

Operator (``Authorization: Bearer <operator token>``, or the console's cookie set by
``/console/login``):

- ``GET|POST /api/v1/console/establishments``: list; register (an organisation of the
  directory, or a new one, and its manager) → 201
- ``GET /api/v1/console/establishments/{finess}``: status, managers, signatures, people
- ``POST /api/v1/console/charter`` {text} → 201 {version, sha256}: a new version to sign
- ``GET /api/v1/console/limits``, ``PUT /api/v1/console/limits/{scope}``
- ``GET /api/v1/console/holds?status=``, ``POST .../holds/{id}/release|refuse`` (also a
  moderator's access token), ``POST /api/v1/console/moderators`` {rpps}
- ``GET /api/v1/console/reports``, ``POST /api/v1/console/sanctions`` {address, level,
  reason}, ``POST /api/v1/console/sanctions/{id}/lift``
- ``GET /api/v1/console/figures`` (JSON), ``/figures.csv``, ``/report.pdf``

Agents (an access token):

- ``GET /api/v1/charter`` (public too), ``POST /api/v1/charter/signatures`` {finess,
  charter_sha256}: a manager accepts the current charter (``CharterSigned`` evidence)
- ``GET|POST /api/v1/establishments/{finess}/people``, ``POST
  /api/v1/establishments/{finess}/people/{rpps}/enrolment-code``: a manager's own people
- ``POST /api/v1/reports`` {message_id, reason, comment}: report an unwanted message
- ``GET /api/v1/policy/sanctions``: the caller's sanctions and held messages
- ``GET /api/v1/policy/limits``: the caller's sending limits (the agent warns before a send)
- ``GET /api/v1/support``: the support contact and hours (public)

Pages and their forms (French first) are in :mod:`caducee.server.console_pages`, whose
router this one includes. ``start`` registers the relay hooks (rollups, contacts, the gate)
and closes the days in the background.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import Field
from sqlalchemy import select

from caducee.directory import DirectoryService, MailboxKind, OrganisationType
from caducee.directory.errors import AlreadyRegistered, InvalidEntry
from caducee.directory.identifiers import parse_finess, parse_rpps
from caducee.directory.models import Mailbox, Organisation, Person
from caducee.errors import CaduceeError
from caducee.policy.bulk import Limits
from caducee.policy.charter import CharterService
from caducee.policy.console_errors import (
    CharterNotSigned,
    InvalidLimits,
    NoCharter,
    NotARecipient,
    NotManager,
    NotModerator,
    NotRegistered,
    StaleCharter,
    UnknownHold,
)
from caducee.policy.gate import BulkGate
from caducee.policy.limits import DEFAULTS, LimitService, check_scope
from caducee.policy.moderation import OPERATOR_ACTOR, HoldStatus, ModerationService
from caducee.policy.reports import ReportReason, ReportService
from caducee.policy.sanctions import SanctionLevel, SanctionService, SenderBlocked
from caducee.server.auth import (
    Agent,
    authenticated_mailbox,
    bearer_token,
    clock,
    credential_service,
    operator_token_matches,
    relay_service,
)
from caducee.server.domain_problems import to_problem
from caducee.server.problems import ProblemError
from caducee.server.requests import StrictRequest
from caducee.server.state import ServerState, get_state
from caducee.stats.dashboard import load_dashboard
from caducee.stats.establishments import refresh_establishments
from caducee.stats.export import daily_rows, to_csv
from caducee.stats.figures import close_days
from caducee.stats.report import render_pdf
from caducee.stats.rollup import PARIS, RollupCounter

__all__ = ["COOKIE", "router", "start"]

log = logging.getLogger(__name__)
router = APIRouter()
State = Annotated[ServerState, Depends(get_state)]
COOKIE = "caducee_console"
CLOSE_EVERY_SECONDS = 600.0
STATUS_BY_ERROR: tuple[tuple[type[CaduceeError], int], ...] = (
    (NotManager, 403),
    (NotModerator, 403),
    (NotARecipient, 403),
    (SenderBlocked, 403),
    (UnknownHold, 404),
    (NotRegistered, 409),
    (CharterNotSigned, 409),
    (NoCharter, 409),
    (StaleCharter, 409),
    (InvalidLimits, 422),
)


def problem(exc: CaduceeError) -> ProblemError:
    """Our errors' statuses here; the others' through the shared table."""
    for kind, status in STATUS_BY_ERROR:
        if isinstance(exc, kind):
            return ProblemError(status, exc.code, exc.reason)
    return to_problem(exc)


# -- who is calling ---------------------------------------------------------------------


def _is_operator(request: Request, state: ServerState) -> bool:
    token = bearer_token(request) or request.cookies.get(COOKIE)
    return operator_token_matches(state, token)


async def console_operator(request: Request, state: State) -> None:
    """The operator token, as a bearer header (API) or the console's cookie (pages)."""
    if not _is_operator(request, state):
        raise ProblemError(401, "operator-only", "this operation needs the operator token")


async def moderator(request: Request, state: State) -> str:
    """The operator, or a moderator's mailbox address; else 401/403 problem+json."""
    if _is_operator(request, state):
        return OPERATOR_ACTOR
    agent = await authenticated_mailbox(request, state)
    if not await _moderation(state).is_moderator(await _rpps_of(state, agent.mailbox_id)):
        raise problem(NotModerator("only a moderator may release or refuse a held message"))
    return agent.address


ConsoleOperator = Annotated[None, Depends(console_operator)]
Moderator = Annotated[str, Depends(moderator)]


async def _rpps_of(state: ServerState, mailbox_id: int) -> str | None:
    async with state.database.sessions() as session:
        rpps: str | None = await session.scalar(
            select(Mailbox.person_rpps).where(Mailbox.id == mailbox_id)
        )
        return rpps


# -- services -----------------------------------------------------------------------------


def _charter(state: ServerState) -> CharterService:
    return CharterService(state.database, state.extras.get("evidence_log"), now=clock(state))


def _moderation(state: ServerState) -> ModerationService:
    return ModerationService(state.database, state.extras.get("evidence_log"), now=clock(state))


def _directory(state: ServerState) -> DirectoryService:
    return DirectoryService(state.database, now=clock(state))


def _gate(state: ServerState) -> BulkGate | None:
    gate = state.extras.get("submission_gate")
    return gate if isinstance(gate, BulkGate) else None


def charter_url(state: ServerState) -> str:
    return state.settings.public_url.rstrip("/") + "/charter"


# -- start-up: the relay's hooks and the day closer --------------------------------------


async def close_finished_days(state: ServerState) -> int:
    """Close every day up to yesterday (French time); the number closed."""
    yesterday = clock(state)().astimezone(PARIS).date() - timedelta(days=1)

    def work() -> int:
        with state.database.sync_engine.begin() as connection:
            refresh_establishments(connection)
            return close_days(connection, yesterday)

    return await asyncio.to_thread(work)


async def start(state: ServerState) -> Callable[[], Awaitable[None]] | None:
    """Register the relay hooks and the gate; close the days every ten minutes."""
    hooks = state.extras.setdefault("relay_commit_hooks", [])
    if state.extras.get("console_counters", True):
        counter = RollupCounter()
        state.extras["console_rollups"] = counter
        hooks.append(counter)

    def now() -> datetime:  # read at each call: tests move the server's clock later
        return clock(state)()

    moderation = ModerationService(state.database, state.extras.get("evidence_log"), now=now)
    gate = BulkGate(state.database, moderation, charter_url=charter_url(state), now=now)
    state.extras["submission_gate"] = gate
    hooks.append(gate.record_contacts)

    async def closer() -> None:
        while True:
            try:
                closed = await close_finished_days(state)
                if closed:
                    log.info("closed %d days of figures", closed)
            except Exception:  # a failed pass is retried at the next one
                log.exception("closing the days' figures failed")
            await asyncio.sleep(CLOSE_EVERY_SECONDS)

    task = asyncio.get_running_loop().create_task(closer())

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return stop


# -- establishments and the charter (operator) -------------------------------------------


class ManagerRequest(StrictRequest):
    rpps: str = Field(max_length=11)
    given_name: str | None = Field(default=None, max_length=100)
    family_name: str | None = Field(default=None, max_length=100)
    profession: str = Field(default="directeur", max_length=100)
    mailbox: str | None = Field(default=None, max_length=320)


class EstablishmentRequest(StrictRequest):
    finess: str = Field(max_length=9)
    name: str | None = Field(default=None, max_length=200)
    type: OrganisationType | None = None
    beds: int | None = Field(default=None, ge=0, le=100_000)
    address: str = Field(default="", max_length=200)
    city: str = Field(default="", max_length=100)
    region: str = Field(default="", max_length=100)
    postcode: str = Field(default="", max_length=10)
    manager: ManagerRequest


async def register_establishment(state: ServerState, body: EstablishmentRequest) -> str:
    """The organisation (new or known), its manager (new or known), the registration.

    What would be refused is checked before the first write: a refusal changes nothing.
    """
    directory = _directory(state)
    finess, m = body.finess.strip(), body.manager
    known, manager_known = await _precheck_registration(state, body)
    if not known:
        assert body.name is not None and body.type is not None  # checked above
        finess = await directory.register_organisation(
            finess=finess,
            name=body.name,
            type=body.type.value,
            beds=body.beds,
            address=body.address,
            city=body.city,
            region=body.region,
            postcode=body.postcode,
        )
    if not manager_known:
        assert m.given_name is not None and m.family_name is not None  # checked above
        await directory.register_person(
            rpps=m.rpps,
            given_name=m.given_name,
            family_name=m.family_name,
            profession=m.profession,
            organisation_finess=finess,
        )
        if m.mailbox:
            await directory.create_mailbox(
                address=m.mailbox, kind=MailboxKind.PERSONAL.value, person_rpps=m.rpps
            )
    await _charter(state).register(finess, m.rpps.strip())
    return finess


def looks_like_address(address: str) -> bool:
    """The directory's rule for a mailbox address, checked before anything is written."""
    local, at, domain = address.partition("@")
    return bool(at and local and "." in domain and address.isascii() and " " not in address)


async def _precheck_registration(
    state: ServerState, body: EstablishmentRequest
) -> tuple[bool, bool]:
    """Whether the organisation and the manager are known; raises what the writes would."""
    finess, m = body.finess.strip(), body.manager
    address = (m.mailbox or "").strip().lower()
    async with state.database.sessions() as session:
        known = await session.get(Organisation, finess) is not None
        manager_known = await session.get(Person, m.rpps.strip()) is not None
        taken = await session.scalar(select(Mailbox.id).where(Mailbox.address == address))
    if not known:
        parse_finess(finess)
        if body.name is None or body.type is None or not body.name.strip():
            raise ProblemError(
                422, "organisation-needed", "a new establishment needs a name and type"
            )
    if not manager_known:
        parse_rpps(m.rpps)
        if not (m.given_name and m.given_name.strip() and m.family_name and m.family_name.strip()):
            raise ProblemError(
                422, "manager-needed", "a new manager needs a given name and a family name"
            )
        if not m.profession.strip():
            raise InvalidEntry("a manager needs a profession")
        if address and not looks_like_address(address):
            raise InvalidEntry(f"not a mailbox address: {address!r}")
        if address and taken is not None:
            raise AlreadyRegistered(f"mailbox {address} exists already")
    return known, manager_known


@router.post("/api/v1/console/establishments", status_code=201, tags=["console"])
async def add_establishment(
    body: EstablishmentRequest, _op: ConsoleOperator, state: State
) -> dict[str, Any]:
    try:
        finess = await register_establishment(state, body)
    except CaduceeError as exc:
        raise problem(exc) from None
    [view] = await _charter(state).establishments(finess)
    return _establishment_json(view)


def _establishment_json(view: Any) -> dict[str, Any]:
    data = asdict(view)
    data["registered_at"] = view.registered_at.isoformat()
    data["up_to_date"] = view.up_to_date
    return data


@router.get("/api/v1/console/establishments", tags=["console"])
async def list_establishments(_op: ConsoleOperator, state: State) -> dict[str, Any]:
    views = await _charter(state).establishments()
    return {"establishments": [_establishment_json(v) for v in views]}


async def _people(state: ServerState, finess: str) -> list[dict[str, Any]]:
    async with state.database.sessions() as session:
        rows = (
            await session.execute(
                select(Person, Mailbox)
                .outerjoin(Mailbox, Mailbox.person_rpps == Person.rpps)
                .where(Person.organisation_finess == finess)
                .order_by(Person.family_name, Person.rpps)
            )
        ).all()
        return [
            {
                "rpps": p.rpps,
                "given_name": p.given_name,
                "family_name": p.family_name,
                "profession": p.profession,
                "mailbox": m.address if m else None,
                "active": m.active if m else None,
            }
            for p, m in rows
        ]


async def _establishment_detail(state: ServerState, finess: str) -> dict[str, Any]:
    views = await _charter(state).establishments(finess)
    if not views:
        raise problem(NotRegistered(f"{finess} is not a registered establishment"))
    signatures = await _charter(state).signatures(finess)
    return {
        **_establishment_json(views[0]),
        "signatures": [{**asdict(s), "signed_at": s.signed_at.isoformat()} for s in signatures],
        "people": await _people(state, finess),
    }


@router.get("/api/v1/console/establishments/{finess}", tags=["console"])
async def get_establishment(finess: str, _op: ConsoleOperator, state: State) -> dict[str, Any]:
    return await _establishment_detail(state, finess)


class CharterRequest(StrictRequest):
    text: str = Field(min_length=1, max_length=100_000)


@router.post("/api/v1/console/charter", status_code=201, tags=["console"])
async def publish_charter(body: CharterRequest, _op: ConsoleOperator, state: State) -> Any:
    try:
        charter = await _charter(state).publish(body.text)
    except CaduceeError as exc:
        raise problem(exc) from None
    return {"version": charter.version, "sha256": charter.sha256}


@router.get("/api/v1/charter", tags=["charter"])
async def current_charter(state: State) -> dict[str, Any]:
    charter = await _charter(state).current()
    if charter is None:
        raise problem(NoCharter("no charter has been published"))
    return {
        "version": charter.version,
        "sha256": charter.sha256,
        "text": charter.text,
        "published_at": charter.published_at.isoformat(),
        "url": charter_url(state),
    }


class SignRequest(StrictRequest):
    finess: str = Field(max_length=9)
    charter_sha256: str = Field(max_length=64)


@router.post("/api/v1/charter/signatures", status_code=201, tags=["charter"])
async def sign_charter(body: SignRequest, agent: Agent, state: State) -> dict[str, Any]:
    """A manager accepts the current charter for their establishment."""
    try:
        signature = await _charter(state).sign(
            finess=body.finess,
            signer_rpps=await _rpps_of(state, agent.mailbox_id),
            signer_address=agent.address,
            charter_sha256=body.charter_sha256,
        )
    except CaduceeError as exc:
        raise problem(exc) from None
    return {**asdict(signature), "signed_at": signature.signed_at.isoformat()}


@router.get("/api/v1/support", tags=["charter"])
async def support(state: State) -> dict[str, str]:
    return {
        "contact": state.settings.support_contact,
        "hours": state.settings.support_hours,
        "operator": state.settings.operator_name,
        "charter_url": charter_url(state),
    }


# -- a manager's own establishment --------------------------------------------------------


async def _check_manager(state: ServerState, agent: Any, finess: str) -> None:
    managed = await _charter(state).managed_by(await _rpps_of(state, agent.mailbox_id))
    if finess not in managed:
        raise problem(NotManager(f"you do not manage establishment {finess}"))


@router.get("/api/v1/establishments/{finess}/people", tags=["establishment"])
async def my_people(finess: str, agent: Agent, state: State) -> dict[str, Any]:
    await _check_manager(state, agent, finess)
    return await _establishment_detail(state, finess)


class PersonRequest(StrictRequest):
    rpps: str = Field(max_length=11)
    given_name: str = Field(min_length=1, max_length=100)
    family_name: str = Field(min_length=1, max_length=100)
    profession: str = Field(min_length=1, max_length=100)
    specialty: str | None = Field(default=None, max_length=100)
    mailbox: str = Field(min_length=3, max_length=320)


@router.post("/api/v1/establishments/{finess}/people", status_code=201, tags=["establishment"])
async def add_my_person(
    finess: str, body: PersonRequest, agent: Agent, state: State
) -> dict[str, Any]:
    await _check_manager(state, agent, finess)
    directory = _directory(state)
    address = body.mailbox.strip().lower()
    try:
        # Everything that would refuse the mailbox is checked before the person is written:
        # a refusal leaves no one behind.
        if not looks_like_address(address):
            raise InvalidEntry(f"not a mailbox address: {address!r}")
        async with state.database.sessions() as session:
            if await session.scalar(select(Mailbox.id).where(Mailbox.address == address)):
                raise AlreadyRegistered(f"mailbox {address} exists already")
        rpps = await directory.register_person(
            rpps=body.rpps,
            given_name=body.given_name,
            family_name=body.family_name,
            profession=body.profession,
            specialty=body.specialty,
            organisation_finess=finess,
        )
        await directory.create_mailbox(
            address=body.mailbox, kind=MailboxKind.PERSONAL.value, person_rpps=rpps
        )
    except CaduceeError as exc:
        raise problem(exc) from None
    return {"rpps": rpps, "mailbox": address}


@router.post(
    "/api/v1/establishments/{finess}/people/{rpps}/enrolment-code",
    status_code=201,
    tags=["establishment"],
)
async def my_person_code(finess: str, rpps: str, agent: Agent, state: State) -> dict[str, Any]:
    """An enrolment code for one of the manager's people (after the charter is signed)."""
    await _check_manager(state, agent, finess)
    try:
        mailboxes = [m for m in await _directory(state).personal_mailboxes(rpps) if m.active]
        async with state.database.sessions() as session:
            person = await session.get(Person, rpps)
        if person is None or person.organisation_finess != finess or len(mailboxes) != 1:
            raise ProblemError(404, "not-your-person", f"{rpps} is not one of {finess}'s people")
        await _charter(state).check_enrolment(mailboxes[0].id)
        code, expires_at = await credential_service(state).new_enrolment_code(mailboxes[0].id)
    except CaduceeError as exc:
        raise problem(exc) from None
    return {"address": mailboxes[0].address, "code": code, "expires_at": expires_at.isoformat()}


# -- limits, holds, reports, sanctions ----------------------------------------------------


LIMIT_RANGES: dict[str, tuple[int, int]] = {
    "recipients_per_message": (1, 100_000),
    "messages_per_hour": (1, 10_000_000),
    "new_recipients_per_hour": (1, 10_000_000),
}


def _limit(name: str) -> Any:
    low, high = LIMIT_RANGES[name]
    return Field(ge=low, le=high)


class LimitsRequest(StrictRequest):
    recipients_per_message: int = _limit("recipients_per_message")
    messages_per_hour: int = _limit("messages_per_hour")
    new_recipients_per_hour: int = _limit("new_recipients_per_hour")


@router.get("/api/v1/console/limits", tags=["console"])
async def get_limits(_op: ConsoleOperator, state: State) -> dict[str, Any]:
    stored = await LimitService(state.database).all()
    return {
        "defaults": {k: asdict(v) for k, v in DEFAULTS.items()},
        "scopes": {k: asdict(v) for k, v in stored.items()},
    }


@router.put("/api/v1/console/limits/{scope}", tags=["console"])
async def set_limits(
    scope: str, body: LimitsRequest, _op: ConsoleOperator, state: State
) -> dict[str, Any]:
    try:
        await LimitService(state.database, now=clock(state)).set(
            check_scope(scope), Limits(**body.model_dump())
        )
    except CaduceeError as exc:
        raise problem(exc) from None
    if (gate := _gate(state)) is not None:
        gate.forget()
    return {"scope": scope, **body.model_dump()}


def _hold_json(hold: Any) -> dict[str, Any]:
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
    holds = await _moderation(state).queue(None if status == "all" else status)
    return {"holds": [_hold_json(h) for h in holds]}


@router.post("/api/v1/console/holds/{hold_id}/release", tags=["console"])
async def release_hold(hold_id: int, actor: Moderator, state: State) -> dict[str, Any]:
    try:
        hold = await _moderation(state).release(hold_id, actor, relay_service(state))
    except CaduceeError as exc:
        raise problem(exc) from None
    return _hold_json(hold)


@router.post("/api/v1/console/holds/{hold_id}/refuse", tags=["console"])
async def refuse_hold(hold_id: int, actor: Moderator, state: State) -> dict[str, Any]:
    try:
        hold = await _moderation(state).refuse(hold_id, actor)
    except CaduceeError as exc:
        raise problem(exc) from None
    return _hold_json(hold)


class ModeratorRequest(StrictRequest):
    rpps: str = Field(max_length=11)


@router.post("/api/v1/console/moderators", status_code=201, tags=["console"])
async def add_moderator(body: ModeratorRequest, _op: ConsoleOperator, state: State) -> Any:
    try:
        await _directory(state).personal_mailboxes(body.rpps)  # the person exists
    except CaduceeError as exc:
        raise problem(exc) from None
    await _moderation(state).add_moderator(body.rpps)
    return {"rpps": body.rpps}


class ReportRequest(StrictRequest):
    message_id: str = Field(min_length=1, max_length=200)
    reason: ReportReason = ReportReason.BULK
    comment: str = Field(default="", max_length=500)


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


class SanctionRequest(StrictRequest):
    address: str = Field(min_length=3, max_length=320)
    level: SanctionLevel
    reason: str = Field(min_length=1, max_length=500)


def _sanction_json(s: Any) -> dict[str, Any]:
    data = asdict(s)
    data["created_at"] = s.created_at.isoformat()
    data["lifted_at"] = s.lifted_at.isoformat() if s.lifted_at else None
    return data


@router.post("/api/v1/console/sanctions", status_code=201, tags=["console"])
async def impose_sanction(body: SanctionRequest, _op: ConsoleOperator, state: State) -> Any:
    try:
        mailbox = await _directory(state).get_mailbox(body.address)
    except CaduceeError as exc:
        raise problem(exc) from None
    sanction = await SanctionService(state.database, now=clock(state)).impose(
        mailbox.id, body.level, body.reason, OPERATOR_ACTOR
    )
    if (gate := _gate(state)) is not None:
        gate.forget(mailbox.id)
    return _sanction_json(sanction)


@router.post("/api/v1/console/sanctions/{sanction_id}/lift", tags=["console"])
async def lift_sanction(sanction_id: int, _op: ConsoleOperator, state: State) -> Any:
    await SanctionService(state.database, now=clock(state)).lift(sanction_id)
    if (gate := _gate(state)) is not None:
        gate.forget()
    return {"id": sanction_id, "lifted": True}


@router.get("/api/v1/policy/limits", tags=["moderation"])
async def my_limits(agent: Agent, state: State) -> dict[str, Any]:
    """The caller's sending limits: the agent warns before a send that would be held."""
    profile, limits = await LimitService(state.database).for_sender(agent.mailbox_id)
    return {
        **asdict(limits),
        "kind": profile.kind,
        "organisation": profile.finess,
        "charter_url": charter_url(state),
    }


@router.get("/api/v1/policy/sanctions", tags=["moderation"])
async def my_sanctions(agent: Agent, state: State) -> dict[str, Any]:
    """What the sender may see: their sanctions and their held messages, with the charter."""
    sanctions = await SanctionService(state.database).of(agent.mailbox_id)
    holds = await _moderation(state).for_sender(agent.mailbox_id)
    return {
        "sanctions": [_sanction_json(s) for s in sanctions],
        "holds": [{k: v for k, v in _hold_json(h).items() if k != "decided_by"} for h in holds],
        "charter_url": charter_url(state),
    }


# -- figures ------------------------------------------------------------------------------


@router.get("/api/v1/console/figures", tags=["console"])
async def figures(_op: ConsoleOperator, state: State) -> dict[str, Any]:
    return (await load_dashboard(state.database)).to_json()


@router.get("/api/v1/console/figures.csv", tags=["console"])
async def figures_csv(_op: ConsoleOperator, state: State) -> Response:
    text = to_csv(await daily_rows(state.database))
    headers = {"Content-Disposition": 'attachment; filename="caducee-figures.csv"'}
    return Response(text, media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/api/v1/console/report.pdf", tags=["console"])
async def report_pdf(_op: ConsoleOperator, state: State) -> Response:
    dashboard = await load_dashboard(state.database)
    year = dashboard.headline.day.year if dashboard.headline.day else None
    pdf = await asyncio.to_thread(
        render_pdf, dashboard, operator=state.settings.operator_name, year=year
    )
    headers = {"Content-Disposition": f'attachment; filename="caducee-rapport-{year}.pdf"'}
    return Response(pdf, media_type="application/pdf", headers=headers)


# -- pages: their own module, which uses the helpers above (so it is imported last) --------

from caducee.server.console_pages import router as pages_router  # noqa: E402

router.include_router(pages_router)
