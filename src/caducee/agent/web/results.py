"""The local pages for results: the table of a document, and the "to match" queue.

A document that holds results (HPRIM, HPRIM Santé, HL7 v2, FHIR) is shown as a table: label,
value, unit, the reference range beside it, abnormal values marked by a class *and* a text
marker (never colour alone). The queue lists documents whose patient is uncertain with the
candidates from the practice's list; choosing one (or "new patient") files the document into
the inbox through :class:`~caducee.agent.tomatch.ToMatchQueue` (CSRF-checked form).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from caducee.agent.config import AgentConfig
from caducee.agent.errors import InboxError
from caducee.agent.journal import Journal
from caducee.agent.tomatch import PatientList, ToMatchQueue
from caducee.formats.convert import read_documents
from caducee.formats.hprim_model import HPRIMDocument
from caducee.formats.results_table import results_table

__all__ = ["NEW_PATIENT", "add_result_routes", "document_tables", "identity_of"]

NEW_PATIENT = "__new__"
Render = Callable[..., HTMLResponse]


def _documents(data: bytes) -> list[HPRIMDocument]:
    try:
        return read_documents(data)[1]
    except Exception:  # a page never fails on content it cannot read: it shows the text
        return []


def identity_of(document: HPRIMDocument) -> dict[str, str]:
    h = document.header
    born = h.birth_date.strftime("%d/%m/%Y") if h.birth_date else ""
    return {"last": h.last_name, "first": h.first_name, "born": born, "file": h.file_number}


def document_tables(data: bytes) -> list[dict[str, Any]]:
    """One table per result document of ``data`` (empty when it holds none)."""
    tables = []
    for document in _documents(data):
        rows = results_table(document)
        if rows:
            tables.append({"who": identity_of(document), "rows": rows})
    return tables


def add_result_routes(app: FastAPI, config: AgentConfig, render: Render, csrf: str) -> None:
    """The ``/to-match`` pages."""
    patients = PatientList(config.patients_path) if config.patients_path else None

    def queue(journal: Journal) -> ToMatchQueue:
        return ToMatchQueue(config.folder("to_match"), config.folder("inbox"), journal)

    def rows(journal: Journal) -> list[dict[str, Any]]:
        known = patients.by_id() if patients is not None else {}
        found = []
        for entry in queue(journal).entries():
            docs = _documents((config.folder("to_match") / entry.name).read_bytes())
            candidates = []
            for patient_id, reasons in entry.candidates:
                p = known.get(patient_id)
                born = p.birth_date.strftime("%d/%m/%Y") if p and p.birth_date else ""
                candidates.append({
                    "id": patient_id, "reasons": reasons, "born": born,
                    "last": p.last_name if p else "", "first": p.first_names if p else "",
                })  # fmt: skip
            found.append({
                "name": entry.name, "quoted": quote(entry.name), "reason": entry.reason,
                "who": identity_of(docs[0]) if docs else None, "candidates": candidates,
            })  # fmt: skip
        return found

    @app.get("/to-match", response_class=HTMLResponse)
    def to_match(request: Request, done: str | None = None) -> HTMLResponse:
        with Journal(config.journal_path) as journal:
            entries = rows(journal)
        return render(request, "to_match.html", {"entries": entries, "done": done})

    @app.post("/to-match/{name}", response_class=HTMLResponse)
    def choose(
        request: Request,
        name: str,
        token: Annotated[str, Form()],
        patient: Annotated[str, Form(max_length=100)],
    ) -> Response:
        if not hmac.compare_digest(token, csrf):
            return render(request, "message.html", {"error": "error.forbidden"}, 403)
        with Journal(config.journal_path) as journal:
            try:
                target = queue(journal).resolve(name, None if patient == NEW_PATIENT else patient)
            except InboxError:
                return render(request, "message.html", {"error": "error.not_found"}, 404)
        return RedirectResponse(f"/to-match?done={quote(target.name)}", status_code=303)
