"""Who an outbox file is for, by the outbox conventions (first that gives an answer wins).

1. HPRIM files: the addresses written on header line 12 (the recipient line) of every
   document, e.g. ``DRTEST01 dr.test@cabinet.test``. All documents of one file must name
   the same recipients (else the file is refused: one patient's results never go to a
   doctor another document names: ``mixed-recipients``).
2. A side-car file ``<name>.to`` next to it: one address per line (``#`` starts a comment).
3. The file name: ``<anything>__to__<address>.<ext>``, several ``__to__<address>`` allowed.

``split_hprim`` cuts an HPRIM médecin file into its documents on ``****FIN****`` lines,
byte for byte (the markers are ASCII in every encoding labs use).
"""

from __future__ import annotations

import re
from pathlib import Path

from caducee.agent.errors import RecipientError
from caducee.formats.sniff import FileKind, sniff

__all__ = [
    "FIN",
    "FINFICHIER",
    "SIDECAR_SUFFIX",
    "addresses_in",
    "hprim_recipients",
    "is_hprim",
    "name_recipients",
    "resolve_recipients",
    "sidecar_recipients",
    "split_hprim",
]

FIN = b"****FIN****"
FINFICHIER = b"****FINFICHIER****"
SIDECAR_SUFFIX = ".to"
RECIPIENT_LINE = 12
_ADDRESS = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
_MARKER_LINE = re.compile(rb"^[ \t]*\*\*\*\*FIN(?:FICHIER)?\*\*\*\*[ \t]*\r?$", re.MULTILINE)


def addresses_in(text: str) -> list[str]:
    """Every e-mail address in ``text``, lower-cased, in order, without repeats."""
    found: list[str] = []
    for match in _ADDRESS.findall(text):
        address = match.strip(".").lower()
        if address not in found:
            found.append(address)
    return found


def is_hprim(data: bytes) -> bool:
    """Whether ``data`` looks like HPRIM médecin (it has a ``****FIN****`` line)."""
    return any(m.group(0).strip().startswith(FIN) for m in _MARKER_LINE.finditer(data))


def split_hprim(data: bytes) -> list[bytes]:
    """The documents of an HPRIM file, each ending with its ``****FIN****`` line.

    The ``****FINFICHIER****`` line and blank lines between documents are dropped; a file
    without markers is one document.
    """
    documents: list[bytes] = []
    start = 0
    for match in _MARKER_LINE.finditer(data):
        end = match.end()
        if end < len(data) and data[end : end + 1] == b"\n":
            end += 1
        if match.group(0).strip() == FIN:
            chunk = data[start:end]
            if chunk.strip(b"\r\n\t ") != FIN:
                documents.append(chunk.lstrip(b"\r\n"))
        start = end
    rest = data[start:]
    if rest.strip(b"\r\n\t \x1a"):
        documents.append(rest.lstrip(b"\r\n"))
    return documents or [data]


def _header_line(document: bytes, number: int) -> str:
    lines = document.replace(b"\r\n", b"\n").split(b"\n")
    if len(lines) < number:
        return ""
    return lines[number - 1].decode("cp1252", errors="replace")


def hprim_recipients(data: bytes) -> list[str]:
    """Addresses on line 12 of every document; ``RecipientError`` if documents disagree."""
    if not is_hprim(data):
        return []
    per_document = [addresses_in(_header_line(d, RECIPIENT_LINE)) for d in split_hprim(data)]
    named = [sorted(a) for a in per_document if a]
    if not named:
        return []
    if len(named) != len(per_document) or any(a != named[0] for a in named):
        raise RecipientError(
            "les documents de ce fichier HPRIM désignent des destinataires différents / "
            "the documents of this HPRIM file name different recipients on line 12",
            code="mixed-recipients",
        )
    return per_document[0]


def sidecar_recipients(path: Path) -> list[str]:
    """Addresses in ``<name>.to`` beside ``path``, one per line."""
    sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
    try:
        text = sidecar.read_text("utf-8", errors="replace")
    except FileNotFoundError:
        return []
    lines = (line.split("#", 1)[0] for line in text.splitlines())
    return addresses_in("\n".join(lines))


def name_recipients(name: str) -> list[str]:
    """Addresses in a file name ``<anything>__to__<address>[__to__<address>...].<ext>``."""
    if "__to__" not in name:
        return []
    parts = name.split("__to__")[1:]
    if parts:
        last = parts[-1]
        stem, dot, ext = last.rpartition(".")
        if dot and "@" in stem and "@" not in ext and "." in stem.split("@")[-1]:
            parts[-1] = stem  # drop the file extension
    return addresses_in("\n".join(parts))


def resolve_recipients(path: Path, data: bytes) -> list[str]:
    """The recipients of an outbox file by the conventions above, or ``RecipientError``:
    ``mixed-recipients``, ``unrecognised-format`` (no recipient, and the content is of no
    kind :func:`~caducee.formats.sniff.sniff` knows) or ``no-recipient``."""
    for found in (hprim_recipients(data), sidecar_recipients(path), name_recipients(path.name)):
        if found:
            return found
    if sniff(data) is FileKind.UNKNOWN:
        raise RecipientError(
            "format non reconnu, aucun destinataire / unrecognised format, no recipient",
            code="unrecognised-format",
        )
    raise RecipientError(
        "aucun destinataire (ligne 12 HPRIM, fichier .to, nom du fichier) / no recipient "
        "(HPRIM line 12, .to file, file name)"
    )
