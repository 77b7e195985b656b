"""File names for the practice software, and the one way files are written: exclusively.

A file is written under a temporary name opened with ``O_CREAT | O_EXCL``, synced, then
hard-linked to its final name (``link`` fails rather than replace an existing file; the name
then gets ``-2``, ``-3``...) and the temporary name removed: no reader sees a partial file.
"""

from __future__ import annotations

import os
import re
import unicodedata
import uuid
from datetime import datetime
from pathlib import Path

from caducee.agent.errors import InboxError

__all__ = ["MAX_COMPONENT", "document_name", "safe_component", "write_exclusive"]

_UNSAFE = re.compile(r"[^A-Za-z0-9.\-]+")
MAX_COMPONENT = 40
MAX_COUNTER = 10_000


def safe_component(text: str, *, limit: int = MAX_COMPONENT, default: str = "document") -> str:
    """``text`` as a portable file-name piece: ASCII letters, digits, ``.`` and ``-``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    cleaned = _UNSAFE.sub("-", ascii_text).strip(".-")
    cleaned = re.sub(r"-{2,}", "-", cleaned)[:limit].strip(".-")
    return cleaned or default


def document_name(
    when: datetime, sender: str, label: str, message_id: str, ext: str, *, patient_id: str = ""
) -> str:
    """``YYYYMMDD-HHMMSS_<sender>_<label>_<msgid8>[_pat-<patient id>].<ext>``, sanitised."""
    local_part = sender.split("@", 1)[0]
    msgid8 = safe_component(message_id.replace("-", ""), limit=8, default="00000000")
    extension = safe_component(ext.lstrip("."), limit=10, default="bin").lower()
    patient = f"_pat-{safe_component(patient_id, limit=30)}" if patient_id else ""
    return (
        f"{when:%Y%m%d-%H%M%S}_{safe_component(local_part, default='sender')}_"
        f"{safe_component(label)}_{msgid8}{patient}.{extension}"
    )


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
