"""Patient matching for the inbox, and the "to match" queue for uncertain documents.

The practice's patient list (``patients_csv``) is read again whenever the file changes.
A document whose patient is uncertain is never given to anyone: it is written into
``to-match/`` with ``<name>.match.json`` beside it (the candidates' ids and the reasons, the
pieces of its future inbox name), and waits for a person to choose a candidate or "new
patient" in the local pages; :meth:`ToMatchQueue.resolve` then writes it into the inbox
(exclusive create, never overwriting) and removes it from the queue.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from caducee.agent.errors import InboxError
from caducee.agent.journal import Journal
from caducee.agent.names import document_name, write_exclusive
from caducee.policy.errors import InvalidPatientList
from caducee.policy.matching import MatchResult, PracticePatient, parse_patient_list

__all__ = ["MATCH_SUFFIX", "QUEUE_PREFIX", "PatientList", "ToMatchEntry", "ToMatchQueue"]

log = logging.getLogger(__name__)
MATCH_SUFFIX = ".match.json"
QUEUE_PREFIX = "to-match/"


class PatientList:
    """The practice's patient list, read again when the file's size or time changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._key: tuple[int, int] | None = None
        self._patients: tuple[PracticePatient, ...] | None = None
        self._lock = threading.Lock()

    def patients(self) -> tuple[PracticePatient, ...] | None:
        """The patients, or ``None`` when the list is missing or unreadable (logged)."""
        with self._lock:
            try:
                stat = self.path.stat()
            except OSError:
                log.warning("patient list unavailable: documents are not matched")
                return None
            key = (stat.st_size, stat.st_mtime_ns)
            if key != self._key:
                try:
                    self._patients = parse_patient_list(self.path.read_bytes())
                except (OSError, InvalidPatientList) as exc:
                    line = getattr(exc, "line", None)
                    log.warning("patient list unreadable (line %s): not matching", line)
                    self._patients = None
                self._key = key
            return self._patients

    def by_id(self) -> dict[str, PracticePatient]:
        return {p.patient_id: p for p in self.patients() or ()}


@dataclass(frozen=True)
class ToMatchEntry:
    """A document waiting in the queue."""

    name: str
    message_id: str
    sender: str
    candidates: tuple[tuple[str, tuple[str, ...]], ...]
    reason: str


class ToMatchQueue:
    """The ``to-match/`` folder: put documents in, list them, resolve them into the inbox."""

    def __init__(self, folder: Path, inbox: Path, journal: Journal) -> None:
        self.folder = folder
        self.inbox = inbox
        self.journal = journal

    def put(
        self,
        data: bytes,
        *,
        sender: str,
        label: str,
        message_id: str,
        ext: str,
        when: datetime,
        match: MatchResult,
    ) -> Path:
        """Queue one document with its candidates (document first, then its side-car)."""
        path = write_exclusive(
            self.folder, document_name(when, sender, label, message_id, ext), data
        )
        about = {
            "sender": sender,
            "label": label,
            "message_id": message_id,
            "ext": ext,
            "when": when.isoformat(),
            "reason": match.reason,
            "candidates": [[c.patient_id, list(c.reasons)] for c in match.candidates],
        }
        write_exclusive(self.folder, path.name + MATCH_SUFFIX, json.dumps(about).encode())
        log.info("a document of %s awaits a patient choice (%s)", message_id, match.reason)
        return path

    def _about(self, name: str) -> dict[str, object] | None:
        try:
            about = json.loads((self.folder / (name + MATCH_SUFFIX)).read_text("utf-8"))
        except (OSError, ValueError):
            return None
        return about if isinstance(about, dict) else None

    def entries(self) -> list[ToMatchEntry]:
        """The queued documents that have their side-car, oldest first."""
        found = []
        paths = sorted(self.folder.iterdir()) if self.folder.is_dir() else []
        for path in paths:
            if path.name.startswith(".") or path.name.endswith(MATCH_SUFFIX):
                continue
            about = self._about(path.name)
            if about is None:
                continue
            raw = about.get("candidates", [])
            candidates = tuple(
                (str(c[0]), tuple(str(r) for r in c[1])) for c in raw if isinstance(c, list)
            ) if isinstance(raw, list) else ()  # fmt: skip
            found.append(
                ToMatchEntry(
                    path.name,
                    str(about.get("message_id", "")),
                    str(about.get("sender", "")),
                    candidates,
                    str(about.get("reason", "")),
                )
            )
        return found

    def entry(self, name: str) -> ToMatchEntry | None:
        """One queued document by its exact name (only listed names: no traversal)."""
        return next((e for e in self.entries() if e.name == name), None)

    def resolve(self, name: str, patient_id: str | None) -> Path:
        """Write the document into the inbox for ``patient_id`` (a candidate) or a new patient."""
        entry = self.entry(name)
        about = self._about(name)
        if entry is None or about is None:
            raise InboxError("no such document waiting for a patient", code="not-queued")
        if patient_id is not None and patient_id not in {c[0] for c in entry.candidates}:
            raise InboxError("this patient is not one of the candidates", code="not-a-candidate")
        source = self.folder / name
        data = source.read_bytes()
        target = write_exclusive(
            self.inbox,
            document_name(
                datetime.fromisoformat(str(about["when"])),
                entry.sender,
                str(about.get("label", "document")),
                entry.message_id,
                str(about.get("ext", "bin")),
                patient_id=patient_id or "",
            ),
            data,
        )
        self.journal.move_document(hashlib.sha256(data).hexdigest(), target.name)
        source.unlink()
        (self.folder / (name + MATCH_SUFFIX)).unlink(missing_ok=True)
        log.info("a queued document of %s was filed (%s)", entry.message_id,
                 "candidate" if patient_id else "new patient")  # fmt: skip
        return target
