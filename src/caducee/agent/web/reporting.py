"""Reporting an unwanted message from a received document's page.

A document of the inbox is mapped to the message it came from by the journal (the SHA-256
of its content, recorded when it was written: ``Journal.document_message``). The form calls
``POST /api/v1/reports`` {message_id, reason, comment}; the report is remembered in the
journal (``reported:<message id>``) so the page says it was reported, and a second report
from this workstation is answered "already reported" without asking the server again. The
server refuses a report on a message that was not delivered to this mailbox
(``not-a-recipient``); that, and an unreachable server, are shown on the page.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from caducee.agent.client import ServerClient
from caducee.agent.config import AgentConfig
from caducee.agent.errors import NetworkError, ServerError
from caducee.agent.journal import Journal
from caducee.policy.protocol import MAX_REPORT_COMMENT, ReportReason

__all__ = ["REPORT_REASONS", "add_report_routes", "report_context"]

REPORT_REASONS = tuple(reason.value for reason in ReportReason)
Render = Callable[..., HTMLResponse]
DocumentPage = Callable[..., HTMLResponse]


def report_context(journal: Journal, data: bytes) -> dict[str, Any]:
    """What the document page needs: the message id, and the earlier report if any."""
    message_id = journal.document_message(hashlib.sha256(data).hexdigest())
    reported: dict[str, Any] | None = None
    if message_id is not None:
        try:
            saved = json.loads(journal.get(f"reported:{message_id}") or "null")
        except ValueError:
            saved = None
        reported = saved if isinstance(saved, dict) else None
    return {"message_id": message_id, "reported": reported, "reasons": REPORT_REASONS}


def add_report_routes(
    app: FastAPI,
    config: AgentConfig,
    csrf: str,
    client: ServerClient | None,
    inbox_file: Callable[[str], Path | None],
    page: DocumentPage,
    render: Render,
) -> None:
    """Mount ``POST /inbox/{name}/report``; ``page`` renders the document page with an
    error or a notice."""

    @app.post("/inbox/{name}/report", response_class=HTMLResponse)
    def report(
        request: Request,
        name: str,
        token: Annotated[str, Form()],
        reason: Annotated[str, Form()] = "",
        comment: Annotated[str, Form()] = "",
    ) -> Response:
        if not hmac.compare_digest(token, csrf):
            return render(request, "message.html", {"error": "error.forbidden"}, 403)
        path = inbox_file(name)
        if path is None:
            return render(request, "message.html", {"error": "error.not_found"}, 404)
        if reason not in REPORT_REASONS or len(comment) > MAX_REPORT_COMMENT:
            return page(request, name, path, 422, report_error="report.error.invalid")
        with Journal(config.journal_path) as journal:
            context = report_context(journal, path.read_bytes())
            message_id = context["message_id"]
            if message_id is None:
                return page(request, name, path, 404, report_error="report.error.unknown")
            if context["reported"] is not None:
                return page(request, name, path, 409, report_error="report.error.already")
            if client is None:
                return page(request, name, path, 503, report_error="report.error.unreachable")
            body = {"message_id": message_id, "reason": reason, "comment": comment.strip()}
            try:
                answer = client.request("POST", "/api/v1/reports", json=body, retries=1).json()
            except NetworkError:
                return page(request, name, path, 503, report_error="report.error.unreachable")
            except ServerError as exc:
                error = {
                    "not-a-recipient": "report.error.not_recipient",
                    "invalid-request": "report.error.invalid",
                }.get(exc.code or "", "report.error.refused")
                status = exc.status if 400 <= exc.status < 600 else 502
                return page(request, name, path, status, report_error=error, detail=exc.code)
            saved = {
                "id": answer.get("id"),
                "reason": reason,
                "at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            }
            journal.set(f"reported:{message_id}", json.dumps(saved))
        return RedirectResponse(f"/inbox/{quote(name)}?reported=1", status_code=303)
