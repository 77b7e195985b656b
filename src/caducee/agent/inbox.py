"""Writing received documents for the practice software: never overwrite, never twice.

Names are ``YYYYMMDD-HHMMSS_<sender>_<patient or document>_<msgid8>[_pat-<id>].<ext>``,
ASCII only, written exclusively (:func:`~caducee.agent.names.write_exclusive`): the practice
software never sees a partial file. A document whose SHA-256 was already written is recorded
in the journal and not written again. Results are written in the agent's ``output_format``
(:mod:`caducee.agent.pieces`); when a file is converted its original is kept in ``archive/``
too. With a patient list, each document is matched: EXACT → the name carries the practice's
patient id; UNCERTAIN → the "to match" queue, never the inbox; NONE → the inbox without an
id (the practice software creates the patient). Ciphertexts are archived; what cannot be
opened goes to ``quarantine/`` with ``<id>.reason.txt``. Each write is planned in the journal
first and confirmed after, so a write interrupted by a crash is found, not made twice.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from glob import escape as glob_escape
from pathlib import Path

from caducee.agent.errors import InboxError
from caducee.agent.journal import Journal
from caducee.agent.names import document_name, safe_component, write_exclusive
from caducee.agent.pieces import Piece, hprim_label, pieces_of
from caducee.agent.tomatch import QUEUE_PREFIX, ToMatchQueue
from caducee.policy.matching import (
    MatchResult,
    MatchStatus,
    PatientQuery,
    PracticePatient,
    match_patient,
)

__all__ = [
    "Delivered",
    "Delivery",
    "InboxWriter",
    "PlannedWrite",
    "document_name",
    "find_written",
    "hprim_label",
    "safe_component",
    "write_exclusive",
]

log = logging.getLogger(__name__)


def find_written(folder: Path, name: str, data: bytes) -> Path | None:
    """The file ``write_exclusive(folder, name, data)`` made, if it is there (same bytes)."""
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    for path in sorted(folder.glob(f"{glob_escape(stem)}*{dot}{glob_escape(ext)}")):
        rest = path.name[len(stem) : len(path.name) - len(dot + ext)]
        if rest and not (rest.startswith("-") and rest[1:].isdigit()):
            continue
        try:
            if path.stat().st_size == len(data) and path.read_bytes() == data:
                return path
        except OSError:
            continue
    return None


@dataclass
class PlannedWrite:
    """One document decided on and not yet written (``path`` once it is)."""

    digest: str
    data: bytes
    name: str
    message_id: str
    sender: str
    label: str
    ext: str
    when: datetime
    match: MatchResult | None = None  # uncertain: the "to match" queue, not the inbox
    path: Path | None = None


@dataclass
class Delivery:
    """What one message will give: the writes to make, files found, duplicates."""

    message_id: str
    writes: list[PlannedWrite] = field(default_factory=list)
    found: list[Path] = field(default_factory=list)  # written before a crash
    duplicates: int = 0


@dataclass(frozen=True)
class Delivered:
    """What one message gave: files written and documents already there."""

    written: tuple[Path, ...]
    duplicates: int
    queued: tuple[Path, ...] = ()


Patients = Callable[[], tuple[PracticePatient, ...] | None]


class InboxWriter:
    """The inbox, archive, quarantine and "to match" folders of one agent, with its journal."""

    def __init__(
        self,
        journal: Journal,
        *,
        inbox: Path,
        archive: Path,
        quarantine: Path,
        split: bool = True,
        output_format: str | None = None,
        to_match: Path | None = None,
        patients: Patients | None = None,
    ) -> None:
        self.journal = journal
        self.inbox = inbox
        self.archive_dir = archive
        self.quarantine_dir = quarantine
        self.output_format = output_format or ("split" if split else "original")
        self.queue = ToMatchQueue(to_match or inbox.parent / "to-match", inbox, journal)
        self.patients = patients

    def write_document(
        self,
        data: bytes,
        *,
        sender: str,
        label: str,
        message_id: str,
        ext: str,
        when: datetime,
        patient_id: str = "",
        match: MatchResult | None = None,
    ) -> Path | None:
        """Write one document unless the same content was written before (then ``None``).

        With an uncertain ``match`` it goes to the "to match" queue instead of the inbox.
        """
        digest = hashlib.sha256(data).hexdigest()
        owner = self.journal.document_message(digest)
        if owner is not None:
            if owner != message_id:  # the same message again after a crash is no duplicate
                self.journal.record_duplicate(digest, message_id)
            log.info(
                "document %s of %s already delivered: not written again", digest[:16], message_id
            )
            return None
        if match is not None and match.status is MatchStatus.UNCERTAIN:
            path = self.queue.put(
                data, sender=sender, label=label, message_id=message_id, ext=ext, when=when,
                match=match,
            )  # fmt: skip
            self.journal.record_document(digest, message_id, QUEUE_PREFIX + path.name)
            return path
        name = document_name(when, sender, label, message_id, ext, patient_id=patient_id)
        planned = self.journal.planned_document(digest)
        if planned is not None:  # a write begun before a crash: was it finished?
            found = find_written(self.inbox, planned[2], data)
            if found is not None:
                self.journal.confirm_document(digest, planned[0], found.name)
                log.info("document %s of %s found written after a restart", digest[:16],
                         planned[0])  # fmt: skip
                if planned[0] != message_id:
                    self.journal.record_duplicate(digest, message_id)
                    return None
                return found
        self.journal.plan_document(digest, message_id, "inbox", name)
        path = write_exclusive(self.inbox, name, data)
        self.journal.confirm_document(digest, message_id, path.name)
        log.info("document %s of %s written into the inbox", digest[:16], message_id)
        return path

    def _matches(self, pieces: list[Piece]) -> list[MatchResult | None]:
        """One match per piece; a piece with no document follows the message's documents."""
        patients = self.patients() if self.patients is not None else None
        if patients is None:
            return [None] * len(pieces)
        own = [
            match_patient(PatientQuery.from_header(p.document.header), patients)
            if p.document is not None
            else None
            for p in pieces
        ]
        known = [m for m in own if m is not None]
        ids = {m.patient_id for m in known if m.status is MatchStatus.EXACT}
        uncertain = [m for m in known if m.status is MatchStatus.UNCERTAIN]
        if uncertain or len(ids) > 1:
            follow: MatchResult | None = uncertain[0] if uncertain else MatchResult(
                MatchStatus.UNCERTAIN, None, tuple(c for m in known for c in m.candidates),
                "several-patients",
            )  # fmt: skip
        elif known and len(ids) == 1 and all(m.status is MatchStatus.EXACT for m in known):
            follow = known[0]
        else:
            follow = None
        return [m if m is not None else follow for m in own]

    def keep_original(self, message_id: str, index: int, filename: str, data: bytes) -> Path:
        """An attachment as received, next to the ciphertext, when the inbox has a conversion."""
        ext = safe_component(filename.rpartition(".")[2] or "bin", limit=10, default="bin")
        base = safe_component(message_id, limit=120, default="message")
        name = f"{base}.{index}.{ext.lower()}"
        existing = self.archive_dir / name
        if existing.exists() and existing.read_bytes() == data:
            return existing
        return write_exclusive(self.archive_dir, name, data, mode=0o600)

    def plan(
        self,
        attachments: list[tuple[str, bytes]],
        *,
        sender: str,
        message_id: str,
        when: datetime,
        seen: set[str] | None = None,
    ) -> Delivery:
        """Decide what to write (run inside ``journal.batch()``): duplicates are recorded,
        new documents planned; ``seen`` holds the digests planned earlier in the batch."""
        seen = set() if seen is None else seen
        pieces: list[Piece] = []
        for index, (filename, data) in enumerate(attachments, start=1):
            found = pieces_of(filename, data, self.output_format)
            if any(p.converted for p in found):
                self.keep_original(message_id, index, filename, data)
            if any(p.failed for p in found):
                log.warning("message %s: a document could not be converted", message_id)
            pieces += found
        delivery = Delivery(message_id)
        for piece, match in zip(pieces, self._matches(pieces), strict=True):
            digest = hashlib.sha256(piece.data).hexdigest()
            if self._already(piece.data, digest, message_id, delivery, seen):
                continue
            patient_id = match.patient_id if match and match.status is MatchStatus.EXACT else ""
            uncertain = match is not None and match.status is MatchStatus.UNCERTAIN
            name = document_name(when, sender, piece.label, message_id, piece.ext,
                                 patient_id=patient_id or "")  # fmt: skip
            if not uncertain:
                self.journal.plan_document(digest, message_id, "inbox", name)
            delivery.writes.append(
                PlannedWrite(
                    digest,
                    piece.data,
                    name,
                    message_id,
                    sender,
                    piece.label,
                    piece.ext,
                    when,
                    match if uncertain else None,
                )
            )
            seen.add(digest)
        return delivery

    def _already(
        self, data: bytes, digest: str, message_id: str, delivery: Delivery, seen: set[str]
    ) -> bool:
        """Whether this content was delivered before (recorded), or is found after a crash."""
        owner = self.journal.document_message(digest)
        if owner is not None or digest in seen:
            if owner != message_id:  # the same message again after a crash is no duplicate
                self.journal.record_duplicate(digest, message_id)
            log.info("document %s of %s already delivered: not written again", digest[:16],
                     message_id)  # fmt: skip
            delivery.duplicates += 1
            return True
        planned = self.journal.planned_document(digest)
        found = find_written(self.inbox, planned[2], data) if planned is not None else None
        if planned is None or found is None:
            return False
        self.journal.confirm_document(digest, planned[0], found.name)
        log.info("document %s of %s found written after a restart", digest[:16], planned[0])
        if planned[0] == message_id:
            delivery.found.append(found)
        else:
            self.journal.record_duplicate(digest, message_id)
            delivery.duplicates += 1
        return True

    def write(self, planned: PlannedWrite) -> Path:
        """Write one planned document (thread-safe: exclusive create, never overwriting)."""
        if planned.match is not None:
            planned.path = self.queue.put(
                planned.data,
                sender=planned.sender,
                label=planned.label,
                message_id=planned.message_id,
                ext=planned.ext,
                when=planned.when,
                match=planned.match,
            )
        else:
            planned.path = write_exclusive(self.inbox, planned.name, planned.data)
        return planned.path

    def confirm(self, delivery: Delivery) -> Delivered:
        """Record every planned document as written (run inside ``journal.batch()``)."""
        written, queued = list(delivery.found), list[Path]()
        for planned in delivery.writes:
            if planned.path is None:
                raise InboxError(f"a document of {delivery.message_id} was not written")
            queue = planned.match is not None
            recorded = (QUEUE_PREFIX if queue else "") + planned.path.name
            self.journal.confirm_document(planned.digest, delivery.message_id, recorded)
            (queued if queue else written).append(planned.path)
            log.info("document %s of %s written", planned.digest[:16], delivery.message_id)
        return Delivered(tuple(written), delivery.duplicates, tuple(queued))

    def deliver(
        self,
        attachments: list[tuple[str, bytes]],
        *,
        sender: str,
        message_id: str,
        when: datetime,
    ) -> Delivered:
        """Write every attachment in the output format, matched to patients when possible."""
        with self.journal.batch():
            delivery = self.plan(attachments, sender=sender, message_id=message_id, when=when)
        for planned in delivery.writes:
            self.write(planned)
        with self.journal.batch():
            return self.confirm(delivery)

    def archive(self, message_id: str, ciphertext: bytes) -> Path:
        """Keep the ciphertext as received (``archive/<id>.p7m``), once."""
        name = f"{safe_component(message_id, limit=120, default='message')}.p7m"
        existing = self.archive_dir / name
        if existing.exists() and existing.read_bytes() == ciphertext:
            return existing
        return write_exclusive(self.archive_dir, name, ciphertext, mode=0o600)

    def quarantine(self, message_id: str, ciphertext: bytes, reason: str, code: str) -> Path:
        """Set aside what cannot be delivered, with ``<id>.reason.txt`` saying why."""
        base = safe_component(message_id, limit=120, default="message")
        path = write_exclusive(self.quarantine_dir, f"{base}.p7m", ciphertext, mode=0o600)
        text = f"message_id: {message_id}\ncode: {code}\nreason: {reason}\n"
        write_exclusive(
            self.quarantine_dir, path.name[: -len(".p7m")] + ".reason.txt", text.encode("utf-8")
        )
        log.warning("message %s quarantined: %s", message_id, code)
        return path
