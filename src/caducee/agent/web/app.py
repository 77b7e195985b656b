"""The agent's local web pages: FastAPI + Jinja2, for the people at the workstation.

Bound to 127.0.0.1 by ``caducee agent run``. Requests whose Host is not a loopback name are
refused (DNS rebinding); forms carry a per-process token (CSRF). Sending does not bypass the
outbox: the uploaded file and a ``.to`` side-car are written into the outbox (side-car
first, each atomically) and the outbox watcher sends it exactly once, like any other file;
the checks before a send (bulk mail, recipients outside Caducée) are in
:mod:`caducee.agent.web.sending`, reporting an unwanted message in
:mod:`caducee.agent.web.reporting`. Pages are never cached (they show health data).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from caducee.agent.client import ServerClient
from caducee.agent.config import AgentConfig
from caducee.agent.external import EXTERNAL_REASON, outbound_state
from caducee.agent.inbox import safe_component
from caducee.agent.journal import Journal
from caducee.agent.ledger_watch import KEY_FILE, read_alarm
from caducee.agent.prescriptions.web import add_prescription_routes
from caducee.agent.recipients import SIDECAR_SUFFIX
from caducee.agent.standing import Standing
from caducee.agent.web.account import add_account_routes
from caducee.agent.web.cases import add_case_routes
from caducee.agent.web.devices import add_device_routes
from caducee.agent.web.journey import journey_of, receipt_of
from caducee.agent.web.messages import locale_of, translator
from caducee.agent.web.reporting import add_report_routes, report_context
from caducee.agent.web.results import add_result_routes, document_tables
from caducee.agent.web.sending import add_send_routes
from caducee.errors import CaduceeError
from caducee.formats.text import to_text
from caducee.ledger import parse_verifier_key

__all__ = ["LOOPBACK_HOSTS", "create_web_app"]

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})
_templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
_SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; "
    "frame-ancestors 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _listing(folder: Path, *, suffix: str | None = None) -> list[dict[str, Any]]:
    if not folder.is_dir():
        return []
    rows = []
    for path in folder.iterdir():
        if path.name.startswith(".") or not path.is_file():
            continue
        if suffix is not None and not path.name.endswith(suffix):
            continue
        stat = path.stat()
        rows.append(
            {
                "name": path.name,
                "size": stat.st_size,
                "date": datetime.fromtimestamp(stat.st_mtime).strftime("%Y-%m-%d %H:%M"),
                "mtime": stat.st_mtime,
            }
        )
    return sorted(rows, key=lambda r: (-r["mtime"], r["name"]))


def _decode(data: bytes) -> str:
    try:
        return to_text(data)
    except (CaduceeError, ValueError):  # a preview never fails the page
        return data.decode("cp1252", errors="replace")


def _reason(path: Path) -> dict[str, str]:
    fields = {"message_id": "", "code": "", "reason": ""}
    for line in path.read_text("utf-8", errors="replace").splitlines():
        key, _, value = line.partition(": ")
        if key in fields:
            fields[key] = value
    return fields


def create_web_app(config: AgentConfig, client: ServerClient | None = None) -> FastAPI:
    """The local pages of the agent configured by ``config``; ``client`` (logged in with the
    agent's key) lets them show the evidence of a sent message's journey, check a send
    against the sender's limits, hand a copy to the gateway and report a message. Without
    it (or when the server does not answer) the pages still work and say what they lack."""
    app = FastAPI(title="Caducée agent", docs_url=None, redoc_url=None, openapi_url=None)
    csrf = secrets.token_urlsafe(32)
    standing = Standing(client, config.directory)

    @app.middleware("http")
    async def guard(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        host = request.headers.get("host", "").rsplit(":", 1)[0].lower()
        if host not in LOOPBACK_HOSTS:
            return Response("forbidden host", status_code=403)
        response = await call_next(request)
        for name, value in _SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    def render(
        request: Request, template: str, context: dict[str, Any], status_code: int = 200
    ) -> HTMLResponse:
        locale = locale_of(request)
        full = {
            "_": translator(locale),
            "locale": locale,
            "other": "en" if locale == "fr" else "fr",
            "address": config.address,
            "csrf": csrf,
            "ledger_alarm": read_alarm(config.directory),
            **context,
        }
        response = _templates.TemplateResponse(request, template, full, status_code=status_code)
        if request.query_params.get("lang") == locale:
            response.set_cookie("lang", locale, samesite="strict", max_age=365 * 24 * 3600)
        return response

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/inbox", status_code=303)

    def flags() -> dict[str, set[str]]:
        with Journal(config.journal_path) as journal:
            return journal.document_flags()

    @app.get("/inbox", response_class=HTMLResponse)
    def inbox(request: Request) -> HTMLResponse:
        folder, flagged = config.folder("inbox"), flags()
        files = [r | {"flags": flagged.get(r["name"], set())} for r in _listing(folder)]
        return render(request, "inbox.html", {"files": files, "folder": folder})

    def _inbox_file(name: str) -> Path | None:
        folder = config.folder("inbox")
        names = {row["name"] for row in _listing(folder)}
        return folder / name if name in names else None  # only names listed, no traversal

    def document_page(
        request: Request, name: str, path: Path, status: int = 200, **extra: Any
    ) -> HTMLResponse:
        data = path.read_bytes()
        with Journal(config.journal_path) as journal:
            report = report_context(journal, data)
        context = {
            "name": name,
            "text": _decode(data),
            "quoted": quote(name),
            "tables": document_tables(data),
            "flags": flags().get(name, set()),
            "report": report,
            "connected": client is not None,
            "report_error": None,
            "detail": "",
            "reported_now": request.query_params.get("reported") == "1",
            **extra,
        }
        return render(request, "document.html", context, status)

    @app.get("/inbox/{name}", response_class=HTMLResponse)
    def document(request: Request, name: str) -> HTMLResponse:
        path = _inbox_file(name)
        if path is None:
            return render(request, "message.html", {"error": "error.not_found"}, 404)
        return document_page(request, name, path)

    @app.get("/inbox/{name}/raw")
    def raw(name: str) -> Response:
        path = _inbox_file(name)
        if path is None:
            return Response(status_code=404)
        return FileResponse(path, filename=name, media_type="application/octet-stream")

    @app.get("/sent", response_class=HTMLResponse)
    def sent(
        request: Request, queued: str | None = None, external: int | None = None
    ) -> HTMLResponse:
        with Journal(config.journal_path) as journal:
            records = journal.recent_outgoing(100)
        waiting = [
            r["name"]
            for r in _listing(config.folder("outbox"))
            if not r["name"].endswith(SIDECAR_SUFFIX)
        ]
        context = {
            "records": records,
            "queued": queued,
            "external": external,
            "waiting": waiting,
            "external_reason": EXTERNAL_REASON,
        }
        return render(request, "sent.html", context)

    @app.get("/sent/{message_id}", response_class=HTMLResponse)
    def journey(request: Request, message_id: str) -> HTMLResponse:
        with Journal(config.journal_path) as journal:
            record = next(
                (r for r in journal.recent_outgoing(10_000) if r.message_id == message_id), None
            )
        if record is None:
            return render(request, "message.html", {"error": "error.not_found"}, 404)
        if record.reason == EXTERNAL_REASON:
            return external_copy(request, record)
        context: dict[str, Any] = {"record": record, "steps": [], "log_key": "", "error": None}
        if client is None:
            context["error"] = "journey.unavailable"
            return render(request, "journey.html", context, 503)
        try:
            key_text = (config.directory / KEY_FILE).read_text("utf-8").strip()
            context["log_key"] = key_text
            context["steps"] = journey_of(client, message_id, parse_verifier_key(key_text))
        except (CaduceeError, OSError, ValueError):
            context["error"] = "journey.unavailable"
            return render(request, "journey.html", context, 503)
        return render(request, "journey.html", context)

    def external_copy(request: Request, record: Any) -> HTMLResponse:
        """The gateway's queue state of a copy handed to it (no evidence of ours to show)."""
        context: dict[str, Any] = {"record": record, "domains": [], "error": None}
        if client is None:
            context["error"] = "external.state.unavailable"
            return render(request, "send/external.html", context, 503)
        try:
            context["domains"] = outbound_state(client, record.message_id)
        except (CaduceeError, ValueError):
            context["error"] = "external.state.unavailable"
            return render(request, "send/external.html", context, 503)
        return render(request, "send/external.html", context)

    @app.get("/sent/{message_id}/receipts/{index}")
    def receipt(message_id: str, index: int) -> Response:
        with Journal(config.journal_path) as journal:
            ours = any(r.message_id == message_id for r in journal.recent_outgoing(10_000))
        if client is None or not ours:
            return Response(status_code=404)
        try:
            found = receipt_of(client, message_id, index)
        except (CaduceeError, ValueError):
            return Response(status_code=503)
        if found is None:
            return Response(status_code=404)
        name = f"recu-{safe_component(message_id, limit=40)}-{index}.json"
        return Response(
            json.dumps(found, ensure_ascii=False, indent=2).encode("utf-8"),
            media_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @app.get("/quarantine", response_class=HTMLResponse)
    def quarantine(request: Request) -> HTMLResponse:
        folder = config.folder("quarantine")
        rows = [_reason(folder / r["name"]) | r for r in _listing(folder, suffix=".reason.txt")]
        return render(request, "quarantine.html", {"rows": rows})

    add_send_routes(app, config, render, csrf, client, standing)
    add_report_routes(app, config, csrf, client, _inbox_file, document_page, render)
    add_result_routes(app, config, render, csrf)
    add_prescription_routes(app, config, render, csrf)
    add_account_routes(app, config, render, csrf, client)
    add_device_routes(app, config, render, csrf, client)
    add_case_routes(app, config, render, csrf, client)
    return app
