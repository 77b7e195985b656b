"""The console's pages and forms, French first (English with ``?lang=en``).

Every page needs the operator's session (the cookie set by ``/console/login``); without it
a page redirects to the login. Every form posts the session's CSRF token (an HMAC of the
session: a page of another site cannot know it) and is answered with the page: the result,
or a clear error in both languages with nothing written. Logs carry ids, never content.

The routes use :mod:`caducee.server.routes_console`'s helpers; that module imports this one
last and includes its router, so import that one first.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import asdict, dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select

from caducee.directory import OrganisationType
from caducee.directory.identifiers import FINESS_LENGTH, RPPS_LENGTH, is_luhn_valid
from caducee.directory.models import Mailbox, MailboxKind, Organisation, Person
from caducee.errors import CaduceeError
from caducee.policy.bulk import Limits
from caducee.policy.charter import MAX_CHARTER_CHARS, normalise_charter
from caducee.policy.limits import DEFAULTS, LimitService, check_scope
from caducee.policy.models import Establishment, Sanction
from caducee.policy.moderation import OPERATOR_ACTOR, HoldStatus
from caducee.policy.reports import ReportService
from caducee.policy.sanctions import SanctionLevel, SanctionService
from caducee.server.auth import bearer_token, clock, operator_token_matches, relay_service
from caducee.server.pages import render, request_locale
from caducee.server.problems import ProblemError
from caducee.server.routes_console import (
    COOKIE,
    LIMIT_RANGES,
    EstablishmentRequest,
    ManagerRequest,
    _charter,
    _establishment_detail,
    _gate,
    _moderation,
    looks_like_address,
    problem,
    register_establishment,
)
from caducee.server.state import ServerState, get_state
from caducee.stats.dashboard import load_dashboard
from caducee.stats.generator import REGIONS
from caducee.stats.report import TYPE_LABELS

__all__ = ["FormError", "csrf_token", "router"]

log = logging.getLogger(__name__)
router: APIRouter = APIRouter(include_in_schema=False)
State = Annotated[ServerState, Depends(get_state)]
CSRF_LABEL = b"caducee-console-csrf-v1"
ALL_REGIONS = (*REGIONS, "Guadeloupe", "Martinique", "Guyane", "La Réunion", "Mayotte")
MAX_BEDS = 100_000
REGISTRATION_LENGTHS = {
    "name": 200, "address": 200, "postcode": 10, "city": 100, "region": 100,
    "given_name": 100, "family_name": 100, "profession": 100, "mailbox": 320,
}  # fmt: skip
SANCTION_LENGTHS = {"address": 320, "reason": 500}
LEVELS = {
    SanctionLevel.WARNING: ("avertissement", "warning"),
    SanctionLevel.HOLD: ("retenue de chaque message", "every message held"),
    SanctionLevel.BLOCK: ("blocage", "block"),
}


# Every refusal a form may show: (French, English), formatted with the form's values.
MESSAGES = {
    "too-long": ("Trop long : au plus {most} caractères.", "Too long: at most {most} characters."),
    "range": ("Un nombre entier de {low} à {high}.", "A whole number from {low} to {high}."),
    "digits": ("Un numéro {what} compte {length} chiffres.",
               "A {what} number has {length} digits."),
    "luhn": (
        "Numéro {what} refusé : sa clé de Luhn (le dernier chiffre) est fausse ; "
        "numéro falsifié ou mal recopié.",
        "{what} number refused: its Luhn key (the last digit) is wrong; "
        "a forged or mistyped number.",
    ),
    "name": ("Le nom est obligatoire.", "The name is required."),
    "type": ("Choisissez un type.", "Choose a type."),
    "beds": ("Seul un EHPAD déclare un nombre de lits.",
             "Only a nursing home has a number of beds."),
    "registered": ("L’établissement {finess} est déjà enregistré.",
                   "Establishment {finess} is already registered."),
    "given_name": ("Le prénom du responsable est obligatoire.",
                   "The manager's given name is required."),
    "family_name": ("Le nom du responsable est obligatoire.",
                    "The manager's family name is required."),
    "profession": ("La profession du responsable est obligatoire.",
                   "The manager's profession is required."),
    "mailbox": ("Une adresse de messagerie valide est obligatoire (nom@domaine).",
                "A valid mailbox address is required (name@domain)."),
    "taken": ("L’adresse {address} est déjà attribuée.", "The address {address} is already taken."),
    "failed": ("Enregistrement refusé.", "{reason}"),
    "charter-length": ("Le texte de la charte compte de 1 à {most} caractères.",
                       "The charter's text is 1 to {most} characters."),
    "charter-same": ("Ce texte est celui de la version en vigueur : rien à publier.",
                     "This text is the current version's: nothing to publish."),
    "scope": (
        "Portée inconnue : *, kind:TYPE_DE_BOÎTE, type:TYPE, type:TYPE:TYPE_DE_BOÎTE, "
        "org:FINESS ou org:FINESS:TYPE_DE_BOÎTE.",
        "Unknown scope: *, kind:MAILBOX_KIND, type:TYPE, type:TYPE:MAILBOX_KIND, "
        "org:FINESS or org:FINESS:MAILBOX_KIND.",
    ),
    "no-organisation": ("Aucun établissement {finess} dans l’annuaire.",
                        "No organisation {finess} in the directory."),
    "decision": ("Décision impossible (message retenu n°{hold}).", "{reason}"),
    "no-mailbox": ("Aucune boîte {address!r} dans l’annuaire.",
                   "No mailbox {address!r} in the directory."),
    "level": ("Choisissez un niveau.", "Choose a level."),
    "reason": ("Le motif est obligatoire : l’expéditeur le verra.",
               "The reason is required: the sender will see it."),
    "not-current": ("Aucune sanction en cours n°{sanction} : rien à lever.",
                    "No current sanction #{sanction}: nothing to lift."),
}  # fmt: skip


@dataclass(frozen=True)
class FormError:
    """One refusal of a form, in both languages; ``field`` names the input at fault."""

    field: str
    fr: str
    en: str


def refusal(field: str, code: str, **values: Any) -> FormError:
    """The refusal ``code`` of :data:`MESSAGES` for ``field``, in both languages."""
    french, english = MESSAGES[code]
    return FormError(field, french.format(**values), english.format(**values))


# -- the session and its CSRF token -------------------------------------------------------


def csrf_token(session: str) -> str:
    """The forms' token for a session: stable for the session, unknown to other sites."""
    return hmac.new(session.encode(), CSRF_LABEL, hashlib.sha256).hexdigest()


def _session(request: Request, state: ServerState) -> str | None:
    """The operator token the caller presents (the console's cookie, or a bearer header)."""
    token = bearer_token(request) or request.cookies.get(COOKIE)
    return token if operator_token_matches(state, token) else None


def _page(
    request: Request, state: ServerState, template: str, *, status: int = 200, **context: Any
) -> HTMLResponse:
    locale = request_locale(request)

    def t(french: str, english: str) -> str:
        return french if locale == "fr" else english

    session = _session(request, state)
    return render(
        request,
        template,
        {
            "t": t,
            "types": TYPE_LABELS,
            "support_contact": state.settings.support_contact,
            "support_hours": state.settings.support_hours,
            "support": f"{state.settings.support_contact} · {state.settings.support_hours}",
            "operator": state.settings.operator_name,
            "csrf": csrf_token(session) if session else "",
            "path": request.url.path,
            **context,
        },
        status_code=status,
    )


def _login_redirect() -> RedirectResponse:
    return RedirectResponse("/console/login", status_code=303)


def _done(path: str) -> RedirectResponse:
    """After a form that changed something: back to a page (a reload does not post again)."""
    return RedirectResponse(path, status_code=303)


async def _posted(request: Request, state: ServerState) -> dict[str, str] | Response:
    """The form's fields, or the answer refusing it: no session, a wrong token, a NUL."""
    session = _session(request, state)
    if session is None:
        return _login_redirect()
    form = await request.form()
    values = {k: v.strip() for k, v in form.items() if isinstance(v, str)}
    sent = values.pop("csrf", "").encode()
    if not hmac.compare_digest(sent, csrf_token(session).encode()):
        log.warning("console form %s refused: wrong or missing CSRF token", request.url.path)
        return _page(request, state, "console/refused.html", status=403, reason="csrf")
    if any("\x00" in v for v in values.values()):
        return _page(request, state, "console/refused.html", status=400, reason="nul")
    return values


def _too_long(values: dict[str, str], lengths: dict[str, int]) -> list[FormError]:
    return [
        refusal(name, "too-long", most=most)
        for name, most in lengths.items()
        if len(values.get(name, "")) > most
    ]


def _whole(value: str, field: str, low: int, high: int) -> tuple[int | None, FormError | None]:
    """An integer in ``[low, high]``, or the error saying the range."""
    if value.isascii() and value.isdigit() and len(value) <= 12 and low <= int(value) <= high:
        return int(value), None
    french, english = MESSAGES["range"]
    fr_low, fr_high = (f"{n:,}".replace(",", "\u202f") for n in (low, high))
    en_low, en_high = f"{low:,}", f"{high:,}"
    return None, FormError(
        field, french.format(low=fr_low, high=fr_high), english.format(low=en_low, high=en_high)
    )


# -- the dashboard, the login, the public charter ------------------------------------------


@router.get("/console/login", response_class=HTMLResponse)
async def login_page(request: Request, state: State) -> HTMLResponse:
    return _page(request, state, "console/login.html", failed=False)


@router.post("/console/login")
async def login(request: Request, state: State, token: Annotated[str, Form()]) -> Response:
    if not operator_token_matches(state, token.strip()):
        return _page(request, state, "console/login.html", status=401, failed=True)
    response = RedirectResponse("/console", status_code=303)
    response.set_cookie(
        COOKIE,
        token.strip(),
        httponly=True,
        samesite="strict",
        secure=state.settings.public_url.startswith("https://"),
        max_age=8 * 3600,
    )
    return response


@router.post("/console/logout")
async def logout() -> Response:
    response = _login_redirect()
    response.delete_cookie(COOKIE)
    return response


@router.get("/console", response_class=HTMLResponse)
async def dashboard_page(request: Request, state: State) -> Response:
    if _session(request, state) is None:
        return _login_redirect()
    dashboard = await load_dashboard(state.database)
    return _page(request, state, "console/dashboard.html", d=dashboard, data=dashboard.to_json())


@router.get("/charter", response_class=HTMLResponse)
async def charter_page(request: Request, state: State) -> HTMLResponse:
    charter = await _charter(state).current()
    return _page(request, state, "console/charter.html", charter=charter)


# -- establishments -------------------------------------------------------------------------


async def _establishments_page(
    request: Request,
    state: ServerState,
    *,
    status: int = 200,
    errors: tuple[FormError, ...] = (),
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    return _page(
        request,
        state,
        "console/establishments.html",
        status=status,
        establishments=await _charter(state).establishments(),
        charter=await _charter(state).current(),
        errors=errors,
        values=values or {"profession": "directeur"},
        registered=request.query_params.get("registered", ""),
        regions=ALL_REGIONS,
        org_types=[t.value for t in OrganisationType],
    )


@router.get("/console/establishments", response_class=HTMLResponse)
async def establishments_page(request: Request, state: State) -> Response:
    if _session(request, state) is None:
        return _login_redirect()
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
        beds, error = _whole(v.get("beds", ""), "beds", 1, MAX_BEDS)
        errors += [error] if error else []
    elif v.get("beds"):
        errors.append(refusal("beds", "beds"))
    return beds, errors


async def _check_registration(
    state: ServerState, v: dict[str, str]
) -> tuple[EstablishmentRequest | None, list[FormError]]:
    """Every check before any write: a refused form leaves the directory as it was."""
    errors = _too_long(v, REGISTRATION_LENGTHS)
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
    values = await _posted(request, state)
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
            return _done(f"/console/establishments?registered={finess}")
    return await _establishments_page(
        request, state, status=422, errors=tuple(errors), values=values
    )


@router.get("/console/establishments/{finess}", response_class=HTMLResponse)
async def establishment_page(finess: str, request: Request, state: State) -> Response:
    if _session(request, state) is None:
        return _login_redirect()
    try:
        detail = await _establishment_detail(state, finess)
    except ProblemError:
        return _page(request, state, "console/refused.html", status=404, reason="unknown")
    return _page(request, state, "console/establishment.html", e=detail)


# -- the charter ------------------------------------------------------------------------------


async def _charter_admin_page(
    request: Request,
    state: ServerState,
    *,
    status: int = 200,
    errors: tuple[FormError, ...] = (),
    text: str | None = None,
) -> HTMLResponse:
    charter = await _charter(state).current()
    views = await _charter(state).establishments()
    signed = sum(1 for e in views if e.signed_version and e.up_to_date)
    return _page(
        request,
        state,
        "console/charter_admin.html",
        status=status,
        charter=charter,
        signed=signed,
        total=len(views),
        errors=errors,
        text=charter.text if text is None and charter else (text or ""),
        published=request.query_params.get("published", ""),
    )


@router.get("/console/charter", response_class=HTMLResponse)
async def charter_admin_page(request: Request, state: State) -> Response:
    if _session(request, state) is None:
        return _login_redirect()
    return await _charter_admin_page(request, state)


@router.post("/console/charter", response_class=HTMLResponse)
async def publish_page(request: Request, state: State) -> Response:
    """A new version: every establishment must sign it again before enrolling its people."""
    values = await _posted(request, state)
    if isinstance(values, Response):
        return values
    text = values.get("text", "")
    current = await _charter(state).current()
    errors = []
    if not text or len(text) > MAX_CHARTER_CHARS:
        errors.append(refusal("text", "charter-length", most=MAX_CHARTER_CHARS))
    elif current is not None and normalise_charter(text) == current.text:
        errors.append(refusal("text", "charter-same"))
    if errors:
        return await _charter_admin_page(
            request, state, status=422, errors=tuple(errors), text=text
        )
    charter = await _charter(state).publish(text)
    log.info("charter v%d published from the console sha256=%s", charter.version, charter.sha256)
    return _done(f"/console/charter?published={charter.version}")


# -- sending limits -----------------------------------------------------------------------------


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
    return _page(
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
    if _session(request, state) is None:
        return _login_redirect()
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
        number, error = _whole(v.get(name, ""), name, low, high)
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
    values = await _posted(request, state)
    if isinstance(values, Response):
        return values
    checked, errors = await _check_limits(state, values)
    if checked is None:
        return await _limits_page(request, state, status=422, errors=tuple(errors), values=values)
    scope, limits = checked
    await LimitService(state.database, now=clock(state)).set(scope, limits)
    if (gate := _gate(state)) is not None:
        gate.forget()
    log.info("limits of scope %s set from the console", scope)
    return _done(f"/console/limits?saved={scope}")


# -- moderation: holds, reports, sanctions --------------------------------------------------------


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
    holds = {h.message_id: h for h in await _moderation(state).queue(None, limit=1000)}
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


async def _moderation_page(
    request: Request, state: ServerState, *, status: int = 200, error: FormError | None = None
) -> HTMLResponse:
    holds = await _moderation(state).queue(HoldStatus.HELD)
    decided = [h for h in await _moderation(state).queue(None, limit=50) if h.status != "held"]
    return _page(
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
    if _session(request, state) is None:
        return _login_redirect()
    return await _moderation_page(request, state)


@router.post("/console/moderation/{hold_id}/{decision}", response_class=HTMLResponse)
async def decide_page(hold_id: int, decision: str, request: Request, state: State) -> Response:
    """One click (a form button): release or refuse, then back to the queue."""
    values = await _posted(request, state)
    if isinstance(values, Response):
        return values
    service = _moderation(state)
    try:
        if decision == "release":
            hold = await service.release(hold_id, OPERATOR_ACTOR, relay_service(state))
        elif decision == "refuse":
            hold = await service.refuse(hold_id, OPERATOR_ACTOR)
        else:
            raise ProblemError(404, "not-found", "release or refuse")
    except CaduceeError as exc:
        error = exc if isinstance(exc, ProblemError) else problem(exc)
        message = refusal("", "decision", hold=hold_id, reason=error.reason)
        return await _moderation_page(request, state, status=error.status, error=message)
    log.info("hold %d %s from the console", hold.id, hold.status)
    return _done("/console/moderation")


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
    return _page(
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
    if _session(request, state) is None:
        return _login_redirect()
    return await _sanctions_page(request, state)


@router.post("/console/sanctions", response_class=HTMLResponse)
async def impose_page(request: Request, state: State) -> Response:
    """A warning, a hold or a block on a sender, with its reason (the sender sees both)."""
    values = await _posted(request, state)
    if isinstance(values, Response):
        return values
    errors = _too_long(values, SANCTION_LENGTHS)
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
    if (gate := _gate(state)) is not None:
        gate.forget(mailbox_id)
    return _done(f"/console/sanctions?imposed={sanction.id}")


@router.post("/console/sanctions/{sanction_id}/lift", response_class=HTMLResponse)
async def lift_page(sanction_id: int, request: Request, state: State) -> Response:
    values = await _posted(request, state)
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
    if (gate := _gate(state)) is not None:
        gate.forget()
    return _done(f"/console/sanctions?lifted={sanction_id}")
