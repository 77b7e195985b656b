"""The person's MISS cases on the workstation's local pages (issue #8, the desktop client).

- ``GET /cases``: my cases (participants, the patient once decrypted here, unread count) and
  the form to open one (participants, the patient's card, a first message);
- ``GET /cases/{id}``: the messages decrypted here (text, replies with the quoted message,
  "modifié / edited" with the earlier versions, "supprimé par X le T / deleted by X at T",
  photos inline, files to download, read receipts, acknowledgements) and the forms to write,
  reply, attach a photo or a file, edit and delete one's own messages, say "je m'en occupe",
  and export the case to the patient's record; opening the page is reading it: a read
  receipt is posted (never for a request another site made: ``Sec-Fetch-Site``);
- ``GET /cases/{id}/attachments/{message id}``: a photo or a file, decrypted, served from
  here (the pages' CSP forbids ``data:`` URLs): inline for the common image types, as a
  download (``Content-Disposition: attachment``) for anything else;
- ``POST`` ``/cases``, ``/cases/{id}/messages``, ``.../messages/{mid}/edit``,
  ``.../messages/{mid}/delete``, ``/cases/{id}/acknowledge``, ``/cases/{id}/export``: each
  form carries the pages' CSRF token, checked before anything is done.

The client (:class:`caducee.agent.instant.InstantClient`) is opened on first use (its device
made and registered then) and kept for the life of the process; the decrypted messages stay
in its memory. A server that does not answer gives a page that says so, never a crash.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from caducee.agent.client import ServerClient
from caducee.agent.config import AgentConfig
from caducee.agent.errors import NetworkError, ServerError
from caducee.agent.instant import InstantClient
from caducee.agent.instant.case import CaseState
from caducee.agent.instant.cipher import RotationLimits
from caducee.agent.instant.errors import InstantClientError, InvalidCaseInput, NotConnected
from caducee.agent.instant.export import exports_of, queue_export
from caducee.agent.instant.page_words import MESSAGES as WORDS
from caducee.agent.instant.page_words import translator
from caducee.agent.instant.timeline import fold
from caducee.agent.recipients import addresses_in
from caducee.agent.web.csrf import forgery_check
from caducee.agent.web.messages import locale_of
from caducee.errors import CaduceeError
from caducee.instant.pairing import key_fingerprint
from caducee.instant.payloads import MAX_ATTACHMENT_BYTES, Attachment, PatientCard

__all__ = ["add_case_routes"]

log = logging.getLogger(__name__)
Render = Callable[..., HTMLResponse]
Field = Annotated[str, Form()]
CASE_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
MESSAGE_ID = re.compile(r"[\x21-\x7e]{1,200}")
INS = re.compile(r"[0-9]{5}(?:[0-9]{2}|2[AB])[0-9]{8}")
NOTICES = ("sent", "edited", "deleted", "acknowledged", "exported", "created")
READING_SITES = (None, "none", "same-origin")  # Sec-Fetch-Site of a page the person opened
DEVICE_GONE = frozenset({"instant-device-revoked", "instant-unknown-device"})


@dataclass(frozen=True)
class Problem:
    key: str
    status: int
    values: dict[str, str] = field(default_factory=dict)


def _problem(exc: CaduceeError) -> Problem:
    if isinstance(exc, NotConnected):
        return Problem("error.offline", 503)
    if isinstance(exc, NetworkError):
        return Problem("error.unreachable", 503)
    if isinstance(exc, ServerError):
        detail = exc.reason.partition(" ")[2] or exc.reason
        if exc.status == 404:
            return Problem("error.case_not_found", 404)
        if exc.code == "instant-unknown-participant":
            return Problem(f"error.{exc.code}", 422, {"detail": detail})
        if exc.status >= 500:
            return Problem("error.unreachable", 503)
        return Problem("error.refused", exc.status, {"code": exc.code})
    if isinstance(exc, InstantClientError):
        key = f"error.{exc.code}"
        status = {"miss-unknown-message": 404, "miss-not-your-message": 403}.get(exc.code, 422)
        if key not in WORDS["fr"]:
            key = "error.miss-client-error"
        return Problem(
            key, 503 if exc.code == "miss-device-file" else status, {"detail": exc.reason}
        )
    return Problem("error.miss-client-error", 502, {"detail": exc.reason})


def _when(moment: datetime | None) -> str:
    """A time as the workstation's people read it (local time)."""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M") if moment else ""


def _patient(name: str, birth: str, ins: str, stay: str) -> PatientCard:
    name, birth, stay = name.strip()[:200], birth.strip(), stay.strip()[:200]
    ins = "".join(ins.split()).upper()
    if not name:
        raise InvalidCaseInput("nom du patient manquant / the patient's name is missing")
    if ins and not INS.fullmatch(ins):
        raise InvalidCaseInput("INS : 15 caractères (NIR) / INS: 15 characters (NIR)")
    if birth:
        try:
            date.fromisoformat(birth)
        except ValueError:
            raise InvalidCaseInput("date de naissance invalide / invalid birth date") from None
    return PatientCard(ins, name, birth, stay or None)


class _Desk:
    """The MISS client of this process, opened on first use (thread-safe)."""

    def __init__(
        self, config: AgentConfig, client: ServerClient | None, limits: RotationLimits | None
    ) -> None:
        self.config = config
        self.client = client
        self.limits = limits
        self._instant: InstantClient | None = None
        self._lock = threading.Lock()

    def instant(self) -> InstantClient:
        with self._lock:
            if self._instant is None:
                self._instant = InstantClient.open(self.config, self.client, limits=self.limits)
            return self._instant

    def forget(self, exc: CaduceeError) -> None:
        """After the person revoked this device (from a phone, say), the next page makes and
        registers a new one with the agent's key, as at the first use."""
        if getattr(exc, "code", None) in DEVICE_GONE:
            with self._lock:
                self._instant = None


def add_case_routes(
    app: FastAPI,
    config: AgentConfig,
    render: Render,
    csrf: str,
    client: ServerClient | None,
    *,
    limits: RotationLimits | None = None,
) -> None:
    """Mount ``/cases`` and what is under it on the agent's web app."""
    desk = _Desk(config, client, limits)

    def page(
        request: Request, template: str, context: dict[str, Any], status: int = 200
    ) -> HTMLResponse:
        full = {"_": translator(locale_of(request)), "page": "/cases", "when": _when}
        return render(request, f"cases/{template}", full | context, status)

    def trouble(request: Request, problem: Problem, back: str = "/cases") -> HTMLResponse:
        context = {"problem": problem, "back": back}
        return page(request, "problem.html", context, problem.status)

    forged = forgery_check(csrf)

    @contextmanager
    def failures(found: list[Problem]) -> Iterator[None]:
        try:
            yield
        except CaduceeError as exc:
            desk.forget(exc)
            problem = _problem(exc)
            log.info("cases: %s (%s)", problem.key, getattr(exc, "code", "?"))
            found.append(problem)

    # -- the list ---------------------------------------------------------------------------

    def list_page(
        request: Request, *, error: Problem | None = None, form: dict[str, str] | None = None
    ) -> HTMLResponse:
        problems: list[Problem] = []
        rows: list[dict[str, Any]] = []
        device = fingerprint = ""
        with failures(problems):
            instant = desk.instant()
            device = instant.device.device_id
            fingerprint = key_fingerprint(instant.device.public().signing_public)
            for listed in instant.cases():
                state = instant.case(str(listed["case_id"]))
                row: dict[str, Any] = {
                    "case_id": state.case_id,
                    "others": [a for a in listed["participants"] if a != instant.address],
                    "last_sequence": listed["last_sequence"],
                    "patient": None,
                    "unread": 0,
                    "messages": 0,
                    "error": None,
                }
                try:
                    state.sync()
                    row["patient"] = state.patient()
                    row["unread"] = state.unread()
                    row["messages"] = sum(1 for e in state.entries if e.kind == "message")
                except (NetworkError, ServerError, InstantClientError) as exc:
                    row["error"] = exc.code
                rows.append(row)
        problem = error or (problems[0] if problems else None)
        context = {
            "rows": rows,
            "problem": problem,
            "device": device,
            "fingerprint": fingerprint,
            "form": form or {},
            "notice": None,
        }
        status = problem.status if problem is not None else 200
        return page(request, "list.html", context, status)

    @app.get("/cases", response_class=HTMLResponse)
    def cases(request: Request) -> HTMLResponse:
        return list_page(request)

    @app.post("/cases", response_class=HTMLResponse)
    def create(
        request: Request,
        token: Field = "",
        participants: Field = "",
        patient_name: Field = "",
        patient_birth: Field = "",
        patient_ins: Field = "",
        stay: Field = "",
        text: Field = "",
    ) -> Response:
        form = {
            "participants": participants,
            "patient_name": patient_name,
            "patient_birth": patient_birth,
            "patient_ins": patient_ins,
            "stay": stay,
            "text": text,
        }
        if forged(token):
            return list_page(request, error=Problem("error.forbidden", 403), form=form)
        problems: list[Problem] = []
        with failures(problems):
            patient = _patient(patient_name, patient_birth, patient_ins, stay)
            people = addresses_in(participants)
            state = desk.instant().create_case(people, patient, text)
            return RedirectResponse(f"/cases/{state.case_id}?done=created", status_code=303)
        return list_page(request, error=problems[0], form=form)

    # -- one case ---------------------------------------------------------------------------

    def case_of(case_id: str) -> CaseState:
        if not CASE_ID.fullmatch(case_id):
            raise ServerError("404 not found", status=404, code="instant-case-not-found")
        return desk.instant().case(case_id)

    def case_page(
        request: Request,
        case_id: str,
        *,
        error: Problem | None = None,
        read: bool = False,
        form: dict[str, str] | None = None,
    ) -> HTMLResponse:
        problems: list[Problem] = []
        with failures(problems):
            instant = desk.instant()
            state = case_of(case_id)
            state.sync()
            state.refresh()
            if read and error is None:
                try:
                    state.mark_read()
                except (NetworkError, ServerError, InstantClientError) as exc:
                    log.info("case %s: read receipt not sent (%s)", case_id, exc.code)
            timeline = fold(state.entries, instant.address)
            reply_id = request.query_params.get("reply") or ""
            reply = timeline.messages.get(reply_id)
            done = request.query_params.get("done")
            context = {
                "state": state,
                "timeline": timeline,
                "patient": timeline.patient,
                "others": [a for a in state.participants if a != instant.address],
                "handled_by": (state.metadata.get("escalation") or {}).get("acknowledged_by"),
                "reply": reply if reply is not None and not reply.deleted else None,
                "exports": exports_of(config, case_id),
                "problem": error,
                "notice": f"notice.{done}" if done in NOTICES else None,
                "form": form or {},
                "me": instant.address,
                "quoted_id": quote(case_id),
            }
            status = error.status if error is not None else 200
            return page(request, "case.html", context, status)
        return trouble(request, problems[0])

    @app.get("/cases/{case_id}", response_class=HTMLResponse)
    def show(request: Request, case_id: str) -> HTMLResponse:
        site = request.headers.get("sec-fetch-site")
        dest = request.headers.get("sec-fetch-dest")
        reading = site in READING_SITES and dest in (None, "document")
        return case_page(request, case_id, read=reading)

    def act(
        request: Request,
        case_id: str,
        token: str,
        action: Callable[[CaseState], object],
        done: str,
        form: dict[str, str] | None = None,
    ) -> Response:
        """Check the token, do ``action`` on the case, then back to the case page."""
        if forged(token):
            return case_page(request, case_id, error=Problem("error.forbidden", 403), form=form)
        problems: list[Problem] = []
        with failures(problems):
            action(case_of(case_id))
            return RedirectResponse(f"/cases/{quote(case_id)}?done={done}#end", status_code=303)
        problem = problems[0]
        if problem.key in ("error.case_not_found", "error.offline", "error.unreachable"):
            return trouble(request, problem)
        return case_page(request, case_id, error=problem, form=form)

    @app.post("/cases/{case_id}/messages", response_class=HTMLResponse)
    def send(
        request: Request,
        case_id: str,
        token: Field = "",
        text: Field = "",
        reply_to: Field = "",
        document: Annotated[UploadFile | None, File()] = None,
    ) -> Response:
        data = b""
        name, media_type = "", ""
        if document is not None and document.filename:
            data = document.file.read(MAX_ATTACHMENT_BYTES + 1)
            name = document.filename
            media_type = (document.content_type or "application/octet-stream").lower()

        def write(state: CaseState) -> None:
            reply = reply_to.strip() or None
            if data:
                state.attach(name, media_type, data, caption=text, reply_to=reply)
            else:
                state.say(text, reply_to=reply)

        return act(request, case_id, token, write, "sent", {"text": text})

    @app.post("/cases/{case_id}/messages/{message_id}/edit", response_class=HTMLResponse)
    def edit(
        request: Request, case_id: str, message_id: str, token: Field = "", text: Field = ""
    ) -> Response:
        return act(request, case_id, token, lambda s: s.edit(message_id, text), "edited")

    @app.post("/cases/{case_id}/messages/{message_id}/delete", response_class=HTMLResponse)
    def delete(request: Request, case_id: str, message_id: str, token: Field = "") -> Response:
        return act(request, case_id, token, lambda s: s.delete(message_id), "deleted")

    @app.post("/cases/{case_id}/acknowledge", response_class=HTMLResponse)
    def acknowledge(request: Request, case_id: str, token: Field = "") -> Response:
        return act(request, case_id, token, lambda s: s.acknowledge(), "acknowledged")

    @app.post("/cases/{case_id}/export", response_class=HTMLResponse)
    def export(request: Request, case_id: str, token: Field = "", to: Field = "") -> Response:
        def queue(state: CaseState) -> None:
            record = queue_export(config, state, to)
            log.info("case %s exported (%d file(s))", case_id, len(record.files))

        return act(request, case_id, token, queue, "exported", {"to": to})

    @app.get("/cases/{case_id}/attachments/{message_id}")
    def attachment(case_id: str, message_id: str) -> Response:
        problems: list[Problem] = []
        with failures(problems):
            state = case_of(case_id)
            if not MESSAGE_ID.fullmatch(message_id):
                return Response(status_code=404)
            state.sync()
            shown = fold(state.entries, state.me).messages.get(message_id)
            entry = state.by_id.get(message_id)
            if shown is None or shown.attachment is None or entry is None:
                return Response(status_code=404)  # none, unreadable, or deleted
            payload = entry.payload
            assert isinstance(payload, Attachment)
            filename = quote(payload.name, safe="")
            if shown.attachment.inline:
                media_type, disposition = payload.media_type, "inline"
            else:
                media_type, disposition = "application/octet-stream", "attachment"
            headers = {
                "Content-Disposition": f"{disposition}; filename*=UTF-8''{filename}",
                "Content-Security-Policy": "default-src 'none'; sandbox",
            }
            return Response(payload.data, media_type=media_type, headers=headers)
        return Response(status_code=problems[0].status)
