"""The agent's prescription pages (prescriber's form, pharmacist's counter, patient's page).

- ``/prescriptions``: the prescriber's prescriptions and their dispensing; ``/new`` the form
  (drug search over the server's catalogue), signed here with the workstation's key;
  ``/{id}/print`` the patient's paper copy with its QR code; ``/{id}/cancel``.
- ``/counter``: card in (the card signs a challenge bound to this pharmacy), the patient's
  open prescriptions, the paper code, accept, dispense line by line, close (the server's
  signed receipt is verified here), the history with the patient's consent.
- ``/patient``: the patient inserts the card and sees every access, and may refuse access to
  the history.

Every form carries the CSRF token. Card grants and pharmacy secrets live in this process's
memory only (a restart asks for the card again; accept is idempotent and gives the secret
back).
"""

from __future__ import annotations

import hmac
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from caducee.agent.client import Credentials, ServerClient
from caducee.agent.config import AgentConfig
from caducee.agent.prescriptions.card_reader import read_card
from caducee.agent.prescriptions.messages import translator
from caducee.agent.prescriptions.prescribe import MAX_FORM_LINES, sign_prescription
from caducee.agent.prescriptions.remote import PrescriptionAPI
from caducee.agent.web.messages import locale_of
from caducee.agent.web.results import Render
from caducee.errors import CaduceeError
from caducee.prescriptions import (
    PaperCode,
    paper_code_payload,
    parse_paper_code,
    parse_prescription_id,
    to_qr_svg,
    verify_receipt,
)
from caducee.prescriptions.dispense import Outcome
from caducee.prescriptions.dosage import PERIODS, UNITS

__all__ = ["add_prescription_routes"]

OUTCOMES = tuple(outcome.value for outcome in Outcome)  # the server checks the same values


@dataclass
class _Grant:
    token: str
    until: datetime

    @property
    def valid(self) -> bool:
        return datetime.now(UTC) < self.until


@dataclass
class _Counter:
    """What this workstation holds between pages (memory only)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    client: ServerClient | None = None
    certificate: Any = None
    key: Any = None
    pharmacy_card: _Grant | None = None
    patient_card: _Grant | None = None
    accepted: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> task + secret


def add_prescription_routes(app: FastAPI, config: AgentConfig, render: Render, csrf: str) -> None:
    """Mount the prescription pages on the agent's web app."""
    held = _Counter()

    def api() -> PrescriptionAPI:
        with held.lock:
            if held.client is None:
                from caducee.agent.keystore import load_key

                held.certificate = config.load_certificate()
                held.key = load_key(config)
                credentials = Credentials(config.address, config.serial_hex, held.key)
                held.client = ServerClient(config.server, credentials, retries=1)
            return PrescriptionAPI(held.client)

    def page(
        request: Request, template: str, context: dict[str, Any], status: int = 200
    ) -> HTMLResponse:
        words = translator(locale_of(request))
        full = {
            "_": words,
            "page": request.url.path,
            "units": list(UNITS),
            "periods": list(PERIODS),
        }
        return render(request, f"prescriptions/{template}", full | context, status)

    def refused(request: Request, template: str, exc: CaduceeError, **context: Any) -> HTMLResponse:
        status = int(getattr(exc, "status", 0) or 422)
        status = status if 400 <= status < 600 else 422
        return page(request, template, {"error": exc.reason, "code": exc.code, **context}, status)

    async def form_of(request: Request) -> dict[str, str] | None:
        form = await request.form()
        values = {k: v for k, v in form.items() if isinstance(v, str)}
        if not hmac.compare_digest(values.get("token", ""), csrf):
            return None
        return values

    def forbidden(request: Request) -> HTMLResponse:
        return render(request, "message.html", {"error": "error.forbidden"}, 403)

    # -- prescriber ---------------------------------------------------------------------

    @app.get("/prescriptions", response_class=HTMLResponse)
    def prescriptions(request: Request, done: str | None = None) -> HTMLResponse:
        try:
            tasks = api().mine()
        except CaduceeError as exc:
            return refused(request, "list.html", exc, tasks=[])
        return page(request, "list.html", {"tasks": tasks, "done": done})

    @app.get("/prescriptions/new", response_class=HTMLResponse)
    def new_form(request: Request, q: str = "") -> HTMLResponse:
        found: list[dict[str, Any]] = []
        error = None
        if q.strip():
            try:
                found = api().drugs(q[:100])
            except CaduceeError as exc:
                error = exc.reason
        return page(
            request,
            "new.html",
            {"q": q, "found": found, "form": {}, "lines": range(1, MAX_FORM_LINES + 1),
             "error": error},
        )  # fmt: skip

    @app.post("/prescriptions/new", response_class=HTMLResponse)
    async def new_submit(request: Request) -> Response:
        form = await form_of(request)
        if form is None:
            return forbidden(request)
        context = {"q": "", "found": [], "form": form, "lines": range(1, MAX_FORM_LINES + 1)}
        try:
            client = api()
            for n in range(1, MAX_FORM_LINES + 1):  # the catalogue's label beside each code
                code = form.get(f"line{n}_code", "").strip()
                if code and not form.get(f"line{n}_label"):
                    found = client.drugs(code) if code.isdigit() and len(code) == 13 else []
                    form[f"line{n}_label"] = found[0]["label"] if found else ""
            created = client.create()
            signed = sign_prescription(form, created["id"], held.certificate, held.key)
            client.activate(created["id"], signed)
        except CaduceeError as exc:
            return refused(request, "new.html", exc, **context)
        return RedirectResponse(
            f"/prescriptions/{quote(created['id'])}?done=deposited", status_code=303
        )

    def _task_id(text: str) -> str | None:
        try:
            return parse_prescription_id(text)
        except CaduceeError:
            return None

    @app.get("/prescriptions/{task_id}", response_class=HTMLResponse)
    def detail(request: Request, task_id: str, done: str | None = None) -> HTMLResponse:
        pid = _task_id(task_id)
        if pid is None:
            return render(request, "message.html", {"error": "error.not_found"}, 404)
        try:
            task = api().view(pid)
        except CaduceeError as exc:
            return refused(request, "detail.html", exc, task=None)
        return page(request, "detail.html", {"task": task, "done": done})

    @app.get("/prescriptions/{task_id}/print", response_class=HTMLResponse)
    def paper(request: Request, task_id: str) -> HTMLResponse:
        pid = _task_id(task_id)
        if pid is None:
            return render(request, "message.html", {"error": "error.not_found"}, 404)
        try:
            task = api().view(pid)
        except CaduceeError as exc:
            return refused(request, "detail.html", exc, task=None)
        payload = paper_code_payload(PaperCode(task["id"], task["access_code"]))
        return page(request, "paper.html", {"task": task, "qr": to_qr_svg(payload)})

    @app.post("/prescriptions/{task_id}/cancel", response_class=HTMLResponse)
    async def cancel(request: Request, task_id: str) -> Response:
        form = await form_of(request)
        pid = _task_id(task_id)
        if form is None or pid is None:
            return forbidden(request)
        try:
            api().abort(pid)
        except CaduceeError as exc:
            return refused(request, "detail.html", exc, task=None)
        return RedirectResponse(f"/prescriptions/{quote(pid)}?done=cancelled", status_code=303)

    # -- pharmacy counter -----------------------------------------------------------------

    def counter_page(request: Request, status: int = 200, **context: Any) -> HTMLResponse:
        card = held.pharmacy_card if held.pharmacy_card and held.pharmacy_card.valid else None
        tasks: list[dict[str, Any]] = []
        if card is not None and "error" not in context:
            try:
                tasks = api().patient_open(card.token)
            except CaduceeError as exc:
                held.pharmacy_card = None
                return refused(request, "counter.html", exc, card=None, tasks=[], **context)
        base = {"card": card, "tasks": tasks, "accepted": held.accepted, "outcomes": OUTCOMES}
        return page(request, "counter.html", base | context, status)

    @app.get("/counter", response_class=HTMLResponse)
    def counter(request: Request) -> HTMLResponse:
        return counter_page(request)

    def _card_grant(*, patient: bool) -> _Grant:
        client = api()
        challenge = client.card_challenge(patient=patient)
        answer = read_card(config, challenge["challenge"], challenge["audience"])
        granted = client.card_access(
            challenge["challenge"], answer.certificate_der, answer.signature, patient=patient
        )
        until = datetime.fromisoformat(granted["expires_at"])
        return _Grant(granted["access_token"], until)

    @app.post("/counter/card", response_class=HTMLResponse)
    async def counter_card(request: Request) -> Response:
        if await form_of(request) is None:
            return forbidden(request)
        try:
            held.pharmacy_card = _card_grant(patient=False)
        except CaduceeError as exc:
            held.pharmacy_card = None
            return refused(request, "counter.html", exc, card=None, tasks=[], accepted={})
        return RedirectResponse("/counter", status_code=303)

    @app.post("/counter/code", response_class=HTMLResponse)
    async def counter_code(request: Request) -> Response:
        form = await form_of(request)
        if form is None:
            return forbidden(request)
        try:
            [code] = parse_paper_code(form.get("code", ""))[:1]
            accepted = api().accept(code.prescription_id, access_code=code.access_code)
        except CaduceeError as exc:
            return counter_page(request, 422, error=exc.reason)
        held.accepted[accepted["id"]] = accepted
        return RedirectResponse(f"/counter/{quote(accepted['id'])}", status_code=303)

    @app.post("/counter/{task_id}/accept", response_class=HTMLResponse)
    async def counter_accept(request: Request, task_id: str) -> Response:
        form = await form_of(request)
        pid = _task_id(task_id)
        card = held.pharmacy_card
        if form is None or pid is None:
            return forbidden(request)
        try:
            accepted = api().accept(pid, card=card.token if card else None)
        except CaduceeError as exc:
            return counter_page(request, 409, error=exc.reason)
        held.accepted[pid] = accepted
        return RedirectResponse(f"/counter/{quote(pid)}", status_code=303)

    @app.get("/counter/history", response_class=HTMLResponse)
    def counter_history(request: Request, consent: str = "") -> HTMLResponse:
        card = held.pharmacy_card
        if consent != "yes" or card is None or not card.valid:
            return counter_page(
                request, 403, error=translator(locale_of(request))("rx.counter.consent")
            )
        try:
            history = api().patient_history(card.token)
        except CaduceeError as exc:
            return counter_page(request, 403, error=exc.reason)
        return counter_page(request, history=history)

    @app.get("/counter/{task_id}", response_class=HTMLResponse)
    def counter_task(request: Request, task_id: str) -> HTMLResponse:
        pid = _task_id(task_id)
        if pid is None or pid not in held.accepted:
            return render(request, "message.html", {"error": "error.not_found"}, 404)
        return page(request, "dispense.html", {"task": held.accepted[pid], "outcomes": OUTCOMES})

    @app.post("/counter/{task_id}/close", response_class=HTMLResponse)
    async def counter_close(request: Request, task_id: str) -> Response:
        form = await form_of(request)
        pid = _task_id(task_id)
        if form is None or pid is None or pid not in held.accepted:
            return forbidden(request)
        task = held.accepted[pid]
        dispense = []
        for n in range(1, 31):
            outcome = form.get(f"line{n}_outcome")
            if outcome is None:
                break
            quantity = form.get(f"line{n}_quantity", "0").strip()
            dispense.append(
                {
                    "line": n,
                    "outcome": outcome,
                    "quantity": int(quantity) if quantity.isdigit() else -1,
                    "code": form.get(f"line{n}_code", "").strip() or None,
                    "reason": form.get(f"line{n}_reason", "").strip() or None,
                }
            )
        try:
            client = api()
            closed = client.close(pid, task["secret"], dispense)
            key = Ed25519PublicKey.from_public_bytes(client.receipt_key())
            receipt = verify_receipt(closed["receipt"], key)
        except CaduceeError as exc:
            return refused(request, "dispense.html", exc, task=task, outcomes=OUTCOMES)
        except ValueError:  # the receipt key is not an Ed25519 key
            return page(request, "dispense.html", {"task": task, "error": "receipt"}, 502)
        held.accepted.pop(pid, None)
        return page(request, "closed.html", {"task": closed, "receipt": receipt.body})

    @app.post("/counter/{task_id}/reject", response_class=HTMLResponse)
    async def counter_reject(request: Request, task_id: str) -> Response:
        form = await form_of(request)
        pid = _task_id(task_id)
        if form is None or pid is None or pid not in held.accepted:
            return forbidden(request)
        try:
            api().reject(pid, held.accepted.pop(pid)["secret"])
        except CaduceeError as exc:
            return counter_page(request, 409, error=exc.reason)
        return RedirectResponse("/counter", status_code=303)

    # -- the patient ----------------------------------------------------------------------

    @app.get("/patient", response_class=HTMLResponse)
    def patient(request: Request) -> HTMLResponse:
        card = held.patient_card if held.patient_card and held.patient_card.valid else None
        log: dict[str, Any] | None = None
        if card is not None:
            try:
                log = api().access_log(card.token)
            except CaduceeError as exc:
                held.patient_card = None
                return refused(request, "patient.html", exc, card=None, log=None)
        return page(request, "patient.html", {"card": card, "log": log})

    @app.post("/patient/card", response_class=HTMLResponse)
    async def patient_card(request: Request) -> Response:
        if await form_of(request) is None:
            return forbidden(request)
        try:
            held.patient_card = _card_grant(patient=True)
        except CaduceeError as exc:
            held.patient_card = None
            return refused(request, "patient.html", exc, card=None, log=None)
        return RedirectResponse("/patient", status_code=303)

    @app.post("/patient/history", response_class=HTMLResponse)
    async def patient_history_choice(request: Request) -> Response:
        form = await form_of(request)
        card = held.patient_card
        if form is None or card is None:
            return forbidden(request)
        try:
            api().set_history_refusal(card.token, form.get("refused") == "yes")
        except CaduceeError as exc:
            return refused(request, "patient.html", exc, card=None, log=None)
        return RedirectResponse("/patient", status_code=303)

    @app.post("/patient/done", response_class=HTMLResponse)
    async def patient_done(request: Request) -> Response:
        if await form_of(request) is None:
            return forbidden(request)
        held.patient_card = None
        return RedirectResponse("/patient", status_code=303)
