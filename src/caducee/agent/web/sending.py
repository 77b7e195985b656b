"""The send form: the checks before a send, and the confirmation they may ask for.

``POST /send`` reads the document and applies :class:`~caducee.agent.send_checks.SendChecks`
to all its recipients. Refused (a blocked sender; more recipients than the cap for a
document about no patient): a page says why, with the charter, and nothing is kept. A
concern (an announcement for many recipients, a send the server will hold, recipients
outside Caducée): the document is kept in ``staging/`` (0600, for a day at most) and a page
asks, with "Annuler" as the default button; ``POST /send/confirm`` then sends or forgets it.
Otherwise, and for the internal recipients once confirmed, the file and its ``.to`` side-car
go into the outbox as before (the watcher sends it exactly once). The external recipients'
copy is handed to the gateway from here, at once, so that a refusal (``gateway-off``, a
domain not trusted) is shown to the person who can act on it; the document stays staged
until it is sent or cancelled: nothing is lost.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from caducee.agent.bulk_check import Concern, charter_rule
from caducee.agent.client import ServerClient
from caducee.agent.config import AgentConfig
from caducee.agent.errors import AgentError, NetworkError, ServerError
from caducee.agent.external import GatewayRefused, hand_off
from caducee.agent.inbox import safe_component, write_exclusive
from caducee.agent.journal import Journal
from caducee.agent.outgoing import new_message_id
from caducee.agent.recipients import SIDECAR_SUFFIX, addresses_in
from caducee.agent.send_checks import SendChecks, SendPlan
from caducee.agent.standing import Standing, strongest_level

__all__ = ["MAX_UPLOAD", "STAGING", "add_send_routes"]

log = logging.getLogger(__name__)
MAX_UPLOAD = 20 * 1024 * 1024
STAGING = "staging"
STAGING_SECONDS = 24 * 3600.0
LOOKUP_RETRIES = 1  # a page answers at once when the server is down
_STAGED_ID = re.compile(r"[A-Za-z0-9_-]{24}")
_GATEWAY_CODES = frozenset({"gateway-off", "domain-not-trusted", "relay-denied", "too-large"})
Render = Callable[..., HTMLResponse]


def outbox_name(original: str) -> str:
    """A unique outbox name keeping the document's (made safe) name."""
    stem, dot, ext = original.rpartition(".")
    if not dot:
        stem, ext = original, "bin"
    return (
        f"{datetime.now():%Y%m%d-%H%M%S}-{secrets.token_hex(3)}_"
        f"{safe_component(stem)}.{safe_component(ext, limit=10, default='bin')}"
    )


class Staging:
    """Documents waiting for their sender's answer: ``<id>.bin`` and ``<id>.json``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def put(self, data: bytes, meta: dict[str, Any]) -> str:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        staged = secrets.token_urlsafe(18)
        write_exclusive(self.folder, f"{staged}.bin", data, mode=0o600)
        write_exclusive(self.folder, f"{staged}.json", json.dumps(meta).encode(), mode=0o600)
        return staged

    def get(self, staged: str) -> tuple[bytes, dict[str, Any]] | None:
        if not _STAGED_ID.fullmatch(staged):
            return None
        try:
            meta = json.loads((self.folder / f"{staged}.json").read_text("utf-8"))
            return (self.folder / f"{staged}.bin").read_bytes(), meta
        except (OSError, ValueError):
            return None

    def drop(self, staged: str) -> None:
        if _STAGED_ID.fullmatch(staged):
            for suffix in (".bin", ".json"):
                (self.folder / f"{staged}{suffix}").unlink(missing_ok=True)

    def sweep(self) -> None:
        """Forget documents left unanswered for longer than a day."""
        if not self.folder.is_dir():
            return
        limit = time.time() - STAGING_SECONDS
        for path in self.folder.iterdir():
            try:
                if path.stat().st_mtime < limit:
                    path.unlink()
            except OSError:
                continue


def add_send_routes(
    app: FastAPI,
    config: AgentConfig,
    render: Render,
    csrf: str,
    client: ServerClient | None,
    standing: Standing,
) -> None:
    """Mount ``/send`` and ``/send/confirm``."""
    staging = Staging(config.directory / STAGING)

    def standing_context() -> dict[str, Any]:
        sanctions = standing.sanctions() if client is not None else None
        return {
            "page": "/send",
            "offline": client is None or sanctions is None,
            "sanctions": sanctions or [],
            "sanction": strongest_level(sanctions or []),
            "limits": standing.limits(),
            "limits_origin": standing.origin,
            "charter_url": standing.charter_url,
        }

    def form(request: Request, status: int = 200, **context: Any) -> HTMLResponse:
        values = {"error": None, "to": "", "notice": None, "detail": "", **context}
        return render(request, "send.html", {**standing_context(), **values}, status)

    def charter_context() -> dict[str, Any]:
        charter = standing.charter()
        quote_text = charter_rule(charter.text) if charter is not None else None
        support = standing.support() or {}
        url = (charter.url if charter is not None else "") or standing.charter_url
        return {"charter_quote": quote_text, "charter_url": url, "support": support}

    def checks_of(journal: Journal) -> SendChecks:
        return SendChecks(client, journal, standing, config.address, retries=LOOKUP_RETRIES)

    def plan_of(checks: SendChecks, to: list[str], filename: str, data: bytes) -> SendPlan:
        return checks.plan(to, [(filename, data)], with_sanctions=client is not None)

    def queue(name: str, to: list[str], data: bytes) -> str:
        outbox = config.folder("outbox")
        sidecar = write_exclusive(outbox, name + SIDECAR_SUFFIX, "\n".join(to).encode())
        if sidecar.name != name + SIDECAR_SUFFIX:  # pragma: no cover - random names collide
            sidecar.unlink()
            raise AgentError("an outbox name was taken: try again")
        return write_exclusive(outbox, name, data).name

    def advice_context(plan: SendPlan, filename: str, to: list[str]) -> dict[str, Any]:
        advice = plan.advice
        return {
            "filename": filename,
            "count": len(to),
            "threshold": advice.threshold,
            "limit": advice.limit,
            "concerns": [c.value for c in advice.concerns],
            "cues": advice.cue_names,
            "internal": plan.internal,
            "external": plan.external,
            **charter_context(),
        }

    @app.get("/send", response_class=HTMLResponse)
    def send_form(request: Request, cancelled: str | None = None) -> HTMLResponse:
        staging.sweep()
        return form(request, notice="send.cancelled" if cancelled else None)

    @app.post("/send", response_class=HTMLResponse)
    async def send(
        request: Request,
        to: Annotated[str, Form()],
        token: Annotated[str, Form()],
        document: Annotated[UploadFile, File()],
    ) -> Response:
        if not hmac.compare_digest(token, csrf):
            return render(request, "message.html", {"error": "error.forbidden"}, 403)
        data = await document.read(MAX_UPLOAD + 1)
        filename = document.filename or "document"
        # The checks call the server: in a worker thread, not on the pages' event loop.
        return await run_in_threadpool(checked_send, request, to, filename, data)

    def checked_send(request: Request, to: str, filename: str, data: bytes) -> Response:
        recipients = addresses_in(to)
        if not recipients:
            return form(request, 422, error="error.recipient", to=to)
        if not data or len(data) > MAX_UPLOAD:
            return form(request, 422, error="error.file", to=to)
        with Journal(config.journal_path) as journal:
            try:
                plan = plan_of(checks_of(journal), recipients, filename, data)
            except (AgentError, ValueError) as exc:
                log.warning("send: recipients not sorted (%s)", getattr(exc, "code", "?"))
                return form(request, 503, error="send.error.unsorted", to=to)
        context = advice_context(plan, filename, recipients)
        if plan.advice.refused:
            return render(request, "send/refused.html", context, 422)
        name = outbox_name(filename)
        if plan.external or plan.advice.needs_confirmation:
            meta = {"name": name, "filename": filename, "to": recipients}
            staged = staging.put(data, meta)
            return render(request, "send/confirm.html", {**context, "staged": staged})
        queued = queue(name, recipients, data)
        return RedirectResponse(f"/sent?queued={quote(queued)}", status_code=303)

    @app.post("/send/confirm", response_class=HTMLResponse)
    def confirm(
        request: Request,
        token: Annotated[str, Form()],
        staged: Annotated[str, Form()],
        action: Annotated[str, Form()] = "cancel",
        external_ok: Annotated[str, Form()] = "",
    ) -> Response:
        if not hmac.compare_digest(token, csrf):
            return render(request, "message.html", {"error": "error.forbidden"}, 403)
        found = staging.get(staged)
        if found is None:
            return form(request, 410, error="send.error.expired")
        if action != "send":
            staging.drop(staged)
            return RedirectResponse("/send?cancelled=1", status_code=303)
        data, meta = found
        name, filename, to = str(meta["name"]), str(meta["filename"]), list(meta["to"])
        digest = hashlib.sha256(data).hexdigest()
        with Journal(config.journal_path) as journal:
            checks = checks_of(journal)
            try:
                plan = plan_of(checks, to, filename, data)
            except (AgentError, ValueError):
                return form(request, 503, error="send.error.unsorted", to=", ".join(to))
            context = {**advice_context(plan, filename, to), "staged": staged}
            if plan.advice.refused:
                staging.drop(staged)
                return render(request, "send/refused.html", context, 422)
            if plan.external and not external_ok:
                context["error"] = "confirm.external.unchecked"
                return render(request, "send/confirm.html", context, 422)
            handed = 0
            if plan.external:
                if client is None:
                    context["error"] = "confirm.error.unreachable"
                    return render(request, "send/confirm.html", context, 503)
                try:
                    hand_off(
                        client,
                        journal,
                        sender=config.address,
                        recipients=plan.external,
                        name=name,
                        data=data,
                        digest=digest,
                        message_id=new_message_id(config.address),
                        sorter=checks.sorter,
                    )
                except GatewayRefused as exc:
                    known = exc.code if exc.code in _GATEWAY_CODES else "other"
                    context["error"] = f"confirm.error.{known}"
                    context["detail"] = exc.reason
                    return render(request, "send/confirm.html", context, 409)
                except (NetworkError, ServerError) as exc:
                    context["error"] = "confirm.error.unreachable"
                    context["detail"] = exc.code
                    return render(request, "send/confirm.html", context, 503)
                handed = len(plan.external)
            if plan.internal and Concern.ANNOUNCEMENT in plan.advice.concerns:
                checks.confirm(digest, name)
        query: dict[str, str] = {}
        if plan.internal:
            query["queued"] = queue(name, list(plan.internal), data)
        if handed:
            query["external"] = str(handed)
        staging.drop(staged)
        return RedirectResponse(f"/sent?{urlencode(query)}", status_code=303)
