"""Writing received documents for the practice software: never overwrite, never twice.

Names are ``YYYYMMDD-HHMMSS_<sender>_<patient or document>_<msgid8>.<ext>``, ASCII only.
Each file is written under a temporary name opened with ``O_CREAT | O_EXCL``, synced, then
hard-linked to its final name (``link`` fails rather than replace an existing file; the
name then gets ``-2``, ``-3``...) and the temporary name removed: the practice software
never sees a partial file. A document whose SHA-256 was already written is recorded in the
journal and not written again. Ciphertexts are archived; what cannot be opened goes to
``quarantine/`` with ``<id>.reason.txt``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from caducee.agent.errors import InboxError
from caducee.agent.journal import Journal
from caducee.agent.recipients import FINFICHIER, is_hprim, split_hprim

__all__ = [
    "Delivered",
    "InboxWriter",
    "document_name",
    "hprim_label",
    "safe_component",
    "write_exclusive",
]

log = logging.getLogger(__name__)
_UNSAFE = re.compile(r"[^A-Za-z0-9.\-]+")
MAX_COMPONENT = 40
MAX_COUNTER = 10_000


def safe_component(text: str, *, limit: int = MAX_COMPONENT, default: str = "document") -> str:
    """``text`` as a portable file-name piece: ASCII letters, digits, ``.`` and ``-``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    cleaned = _UNSAFE.sub("-", ascii_text).strip(".-")
    cleaned = re.sub(r"-{2,}", "-", cleaned)[:limit].strip(".-")
    return cleaned or default


def document_name(when: datetime, sender: str, label: str, message_id: str, ext: str) -> str:
    """``YYYYMMDD-HHMMSS_<sender>_<label>_<msgid8>.<ext>``, sanitised."""
    local_part = sender.split("@", 1)[0]
    msgid8 = safe_component(message_id.replace("-", ""), limit=8, default="00000000")
    extension = safe_component(ext.lstrip("."), limit=10, default="bin").lower()
    return (
        f"{when:%Y%m%d-%H%M%S}_{safe_component(local_part, default='sender')}_"
        f"{safe_component(label)}_{msgid8}.{extension}"
    )


def hprim_label(document: bytes) -> str:
    """The patient's name (header lines 2 and 3) of an HPRIM document, else its file number."""
    lines = document.replace(b"\r\n", b"\n").split(b"\n")
    text = [line.decode("cp1252", errors="replace").strip() for line in lines[:12]]
    if len(text) >= 3 and (text[1] or text[2]):
        return "-".join(p for p in (text[1], text[2]) if p)
    if len(text) >= 9 and text[8]:
        return text[8]
    return "document"


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_exclusive(folder: Path, name: str, data: bytes, *, mode: int = 0o640) -> Path:
    """Write ``data`` as ``folder/name`` (or ``name-2``...), never replacing any file."""
    folder.mkdir(parents=True, exist_ok=True)
    temp = folder / f".caducee-{uuid.uuid4().hex}.tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        stem, dot, ext = name.rpartition(".")
        if not dot:
            stem, ext = name, ""
        for counter in range(1, MAX_COUNTER):
            candidate = name if counter == 1 else f"{stem}-{counter}{dot}{ext}"
            target = folder / candidate
            try:
                os.link(temp, target)
            except FileExistsError:
                continue
            _fsync_dir(folder)
            return target
        raise InboxError(f"no free name for {name} in {folder}")
    finally:
        temp.unlink(missing_ok=True)


@dataclass(frozen=True)
class Delivered:
    """What one message gave: files written and documents already there."""

    written: tuple[Path, ...]
    duplicates: int


class InboxWriter:
    """The inbox, archive and quarantine folders of one agent, with its journal."""

    def __init__(
        self,
        journal: Journal,
        *,
        inbox: Path,
        archive: Path,
        quarantine: Path,
        split: bool = True,
    ) -> None:
        self.journal = journal
        self.inbox = inbox
        self.archive_dir = archive
        self.quarantine_dir = quarantine
        self.split = split

    def write_document(
        self, data: bytes, *, sender: str, label: str, message_id: str, ext: str, when: datetime
    ) -> Path | None:
        """Write one document unless the same content was written before (then ``None``)."""
        digest = hashlib.sha256(data).hexdigest()
        owner = self.journal.document_message(digest)
        if owner is not None:
            if owner != message_id:  # the same message again after a crash is no duplicate
                self.journal.record_duplicate(digest, message_id)
            log.info(
                "document %s of %s already delivered: not written again", digest[:16], message_id
            )
            return None
        path = write_exclusive(
            self.inbox, document_name(when, sender, label, message_id, ext), data
        )
        self.journal.record_document(digest, message_id, path.name)
        log.info("document %s of %s written into the inbox", digest[:16], message_id)
        return path

    def deliver(
        self,
        attachments: list[tuple[str, bytes]],
        *,
        sender: str,
        message_id: str,
        when: datetime,
    ) -> Delivered:
        """Write every attachment; HPRIM files one document per file when ``split``."""
        written: list[Path] = []
        duplicates = 0
        for filename, data in attachments:
            stem, dot, ext = filename.rpartition(".")
            if not dot:
                stem, ext = filename, "bin"
            if self.split and is_hprim(data):
                documents = split_hprim(data)
                newline = b"\r\n" if b"\r\n" in data else b"\n"
                pieces = [
                    (hprim_label(d), d if d.endswith(b"\n") else d + newline) for d in documents
                ]
                pieces = [(label, d + FINFICHIER + newline) for label, d in pieces]
            else:
                pieces = [(stem, data)]
            for label, piece in pieces:
                path = self.write_document(
                    piece, sender=sender, label=label, message_id=message_id, ext=ext, when=when
                )
                if path is None:
                    duplicates += 1
                else:
                    written.append(path)
        return Delivered(tuple(written), duplicates)

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
