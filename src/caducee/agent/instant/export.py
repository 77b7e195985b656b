"""Export a case to the patient's record: a transcript sent by Caducée mail.

Only clients hold a case's plaintext, so the export is made here: a UTF-8 text transcript
(the patient's identity first, the date, the participants, then every message with its
author and time, edits shown with their earlier versions, deletions as "supprimé par X le T
/ deleted by X at T", read receipts and acknowledgements) and each photo or file still shown
in the case as a file of its own. They go through the agent's ordinary mail path: each file
and its ``.to`` side-car are written into the outbox (side-car first, each exclusively, mode
0600), as the send page does, and the outbox watcher signs, encrypts and sends each exactly
once. By default they are addressed to the person's own mailbox, so that they land in their
inbox folder, where the practice software takes them into the patient's record.

Each export is recorded in the agent's journal (``miss-export:<case id>``: when, to whom, the
outbox names and SHA-256 of the files), and the case page shows it with the message id and
state the journal gives each file once sent. The transcript is the only plaintext of a case
the agent ever writes to disk, and only because the person asked for it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from caducee.agent.config import AgentConfig
from caducee.agent.errors import AgentError
from caducee.agent.instant.case import CaseState
from caducee.agent.instant.errors import InvalidCaseInput
from caducee.agent.instant.timeline import Event, Shown, Timeline, fold
from caducee.agent.journal import Journal
from caducee.agent.names import write_exclusive
from caducee.agent.recipients import SIDECAR_SUFFIX, addresses_in
from caducee.instant.payloads import Attachment

__all__ = ["ExportRecord", "exports_of", "queue_export", "transcript"]

JOURNAL_PREFIX = "miss-export:"
NL = "\r\n"  # the practice software runs on Windows more often than not
MAX_RECIPIENTS = 5


def _at(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _size(count: int) -> str:
    return f"{count} octets / bytes"


@dataclass(frozen=True)
class ExportRecord:
    at: str
    to: tuple[str, ...]
    files: tuple[tuple[str, str], ...]  # (outbox name, sha256)
    messages: int


def _attachment_line(shown: Shown, file_name: str | None) -> str:
    assert shown.attachment is not None
    a = shown.attachment
    what = "Photo" if a.kind == "photo" else "Fichier / file"
    blurred = " (floutée / blurred)" if a.blurred else ""
    where = f" — envoyé à part / sent separately: {file_name}" if file_name else ""
    return f"{what} « {a.name} » ({a.media_type}, {_size(a.size)}){blurred}{where}"


def _message_lines(shown: Shown, files: dict[str, str]) -> list[str]:
    head = f"[{_at(shown.at)}] n° {shown.sequence} — {shown.sender}"
    if shown.quoted is not None:
        q = shown.quoted
        said = "message supprimé / deleted message" if q.deleted else f"« {q.excerpt} »"
        head += f" — en réponse à / in reply to n° {q.sequence} ({q.sender} : {said})"
    lines = [head]
    if shown.deleted:
        assert shown.deleted_at is not None
        lines.append(
            f"    (supprimé par {shown.deleted_by} le {_at(shown.deleted_at)} / "
            f"deleted by {shown.deleted_by} at {_at(shown.deleted_at)})"
        )
        return lines
    if shown.kind == "unreadable":
        lines.append(
            f"    (illisible sur ce poste / unreadable on this workstation: {shown.error})"
        )
        return lines
    if shown.kind == "patient" and shown.patient is not None:
        lines.append("    Ouverture du dossier / case opened")
        return lines
    if shown.attachment is not None:
        lines.append("    " + _attachment_line(shown, files.get(shown.message_id)))
        if shown.text:
            lines.append("    Légende / caption: " + shown.text)
    elif shown.text is not None:
        lines.extend("    " + line for line in shown.text.splitlines() or [""])
    if shown.edited_at is not None:
        lines.append(f"    (modifié le {_at(shown.edited_at)} / edited at {_at(shown.edited_at)})")
        for version in shown.versions:
            lines.append(f"    Version du / version of {_at(version.at)} :")
            lines.extend("      " + line for line in version.text.splitlines() or [""])
    return lines


def _event_line(event: Event) -> str:
    if event.kind == "ack":
        return (
            f"[{_at(event.at)}] n° {event.sequence} — {event.sender} : "
            "je m'en occupe / I'm handling it"
        )
    return (
        f"[{_at(event.at)}] n° {event.sequence} — {event.sender} : "
        f"a lu jusqu'au n° {event.up_to} / read up to n° {event.up_to}"
    )


def transcript(
    state: CaseState,
    timeline: Timeline,
    *,
    exported_by: str,
    at: datetime,
    files: dict[str, str] | None = None,
) -> str:
    """The readable transcript of a case (``files``: message id → exported file name)."""
    files = files or {}
    patient = timeline.patient
    lines = [
        "Caducée — messagerie instantanée (MISS) : export d'une conversation / case export",
        "",
    ]
    if patient is not None:
        lines.append(f"Patient : {patient.name}")
        if patient.birth_date:
            lines.append(f"Né(e) le / born: {patient.birth_date}")
        if patient.ins:
            lines.append(f"INS : {patient.ins}")
        if patient.stay:
            lines.append(f"Séjour / stay: {patient.stay}")
    else:
        lines.append("Patient : (identité illisible sur ce poste / identity unreadable here)")
    lines += [
        "",
        f"Conversation / case: {state.case_id}",
        f"Exporté le / exported at: {_at(at)} par / by {exported_by}",
        "Participants : " + ", ".join(state.participants or ()),
        f"Messages : {len(timeline.messages)}",
    ]
    acknowledged = state.metadata.get("escalation", {}).get("acknowledged_by")
    if acknowledged:
        lines.append(f"Pris en charge par / handled by: {acknowledged}")
    lines += ["", "-" * 72, ""]
    for item in timeline.items:
        if isinstance(item, Event):
            lines.append(_event_line(item))
        else:
            lines.extend(_message_lines(item, files))
        lines.append("")
    if timeline.refused:
        lines.append(
            f"{len(timeline.refused)} modification(s) ou suppression(s) refusée(s) (d'un autre "
            "que l'auteur) / edit(s) or deletion(s) refused (not by the author)"
        )
        lines.append("")
    lines.append("-" * 72)
    lines.append("Fin de l'export / end of export")
    return NL.join(lines) + NL


def _queue(outbox: Path, name: str, to: list[str], data: bytes) -> str:
    """Side-car first, then the file, each written exclusively (the send page's way)."""
    sidecar = write_exclusive(outbox, name + SIDECAR_SUFFIX, "\n".join(to).encode(), mode=0o600)
    if sidecar.name != name + SIDECAR_SUFFIX:  # pragma: no cover - random names collide
        sidecar.unlink()
        raise AgentError("an outbox name was taken: try again")
    return write_exclusive(outbox, name, data, mode=0o600).name


def queue_export(
    config: AgentConfig, state: CaseState, to_text: str = "", *, now: datetime | None = None
) -> ExportRecord:
    """Write the transcript and the attachments into the outbox for ``to_text`` (the
    person's own mailbox when empty) and record the export in the journal."""
    from caducee.agent.web.sending import outbox_name  # the send page's names (no import cycle)

    to = addresses_in(to_text) if to_text.strip() else [config.address]
    if not to or len(to) > MAX_RECIPIENTS:
        raise InvalidCaseInput(
            "indiquez une à cinq adresses valides / give one to five valid addresses"
        )
    at = now or datetime.now(UTC)
    with state.lock:
        state.sync()
        state.refresh()
        timeline = fold(state.entries, state.me)
        stem = f"miss-{state.case_id[:8]}"  # outbox_name() puts the date and time first
        outbox = config.folder("outbox")
        queued: list[tuple[str, str, bytes]] = []  # (outbox name, message id, data)
        names: dict[str, str] = {}
        for shown in timeline.messages.values():
            if shown.attachment is None:
                continue
            payload = state.by_id[shown.message_id].payload
            assert isinstance(payload, Attachment)
            name = outbox_name(f"{stem}-n{shown.sequence}-{payload.name}")
            names[shown.message_id] = name
            queued.append((name, shown.message_id, payload.data))
        text = transcript(state, timeline, exported_by=config.address, at=at, files=names)
        files: list[tuple[str, str]] = []
        main = outbox_name(f"{stem}.txt")
        for name, data in [(main, text.encode("utf-8"))] + [(n, d) for n, _, d in queued]:
            written = _queue(outbox, name, to, data)
            files.append((written, hashlib.sha256(data).hexdigest()))
    record = ExportRecord(_at(at), tuple(to), tuple(files), len(timeline.messages))
    with Journal(config.journal_path) as journal:
        key = JOURNAL_PREFIX + state.case_id
        try:
            earlier = json.loads(journal.get(key) or "[]")
        except ValueError:
            earlier = []
        earlier.append(
            {
                "at": record.at,
                "to": list(record.to),
                "files": [list(f) for f in record.files],
                "messages": record.messages,
            }
        )
        journal.set(key, json.dumps(earlier))
    return record


def exports_of(config: AgentConfig, case_id: str) -> list[dict[str, Any]]:
    """The exports of a case, newest first, each file with its state and message id."""
    with Journal(config.journal_path) as journal:
        try:
            recorded = json.loads(journal.get(JOURNAL_PREFIX + case_id) or "[]")
        except ValueError:
            return []
        shown = []
        for export in reversed(recorded if isinstance(recorded, list) else []):
            files = []
            for name, sha256 in export.get("files", []):
                record = journal.outgoing(sha256, name)
                files.append(
                    {
                        "name": name,
                        "state": record.state if record is not None else "queued",
                        "message_id": record.message_id if record is not None else "",
                    }
                )
            shown.append({**export, "files": files})
        return shown
