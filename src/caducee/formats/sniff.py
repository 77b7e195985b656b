"""Tell an attachment's type by its content, never by its name.

Binary signatures first (PDF, PNG, JPEG, ZIP), then text: XML (CDA when the root is an HL7 v3
``ClinicalDocument``), HL7 v2 (``MSH|``), HPRIM Santé (an ``H`` record with delimiters),
HPRIM médecin (its markers, or a 12-line header whose line 10 is a date).
"""

import re
from enum import StrEnum

from caducee.formats.errors import FormatError
from caducee.formats.hprim_parse import FIN, FINFICHIER, LAB, parse_date
from caducee.formats.hprim_sante_parse import read_delimiters
from caducee.formats.text import decode_text

__all__ = ["FileKind", "sniff"]

#: How many leading bytes are enough to decide.
SNIFF_BYTES = 64 * 1024


class FileKind(StrEnum):
    PDF = "pdf"
    PNG = "png"
    JPEG = "jpeg"
    ZIP = "zip"
    CDA = "cda"
    XML = "xml"
    HL7V2 = "hl7v2"
    HPRIM_SANTE = "hprim-sante"
    HPRIM = "hprim"
    TEXT = "text"
    UNKNOWN = "unknown"


_SIGNATURES: tuple[tuple[bytes, FileKind], ...] = (
    (b"%PDF-", FileKind.PDF),
    (b"\x89PNG\r\n\x1a\n", FileKind.PNG),
    (b"\xff\xd8\xff", FileKind.JPEG),
    (b"PK\x03\x04", FileKind.ZIP),
    (b"PK\x05\x06", FileKind.ZIP),
)
_CDA_RE = re.compile(r"<(?:\w+:)?ClinicalDocument\b[^>]*urn:hl7-org:v3", re.DOTALL)


def _is_date(text: str) -> bool:
    try:
        parse_date(text)
    except ValueError:
        return False
    return True


def _looks_hprim(lines: list[str]) -> bool:
    markers = {line.strip() for line in lines}
    if markers & {LAB, FIN, FINFICHIER}:
        return True
    body = list(lines)
    while body and not body[0].strip():
        body.pop(0)
    return len(body) >= 12 and _is_date(body[9].strip()) and _is_date(body[6].strip())


def sniff(data: bytes) -> FileKind:
    """The kind of ``data`` (see the module docstring); ``UNKNOWN`` if nothing fits."""
    head = data[:SNIFF_BYTES]
    for signature, kind in _SIGNATURES:
        if head.startswith(signature):
            return kind
    if head.lstrip().startswith(b"%PDF-"):
        return FileKind.PDF
    try:
        text = decode_text(head).text
    except FormatError:
        # A cut in the middle of a multi-byte character is not a reason to give up.
        try:
            text = decode_text(head[:-4]).text if len(head) > 4 else ""
        except FormatError:
            return FileKind.UNKNOWN
    stripped = text.lstrip()
    if stripped.startswith("<"):
        if _CDA_RE.search(stripped[:8192]):
            return FileKind.CDA
        return FileKind.XML if stripped.startswith(("<?xml", "<")) else FileKind.TEXT
    if stripped.startswith("MSH") and len(stripped) > 8 and not stripped[3].isalnum():
        return FileKind.HL7V2
    if stripped.startswith("H"):
        first = stripped.split("\n", 1)[0]
        try:
            read_delimiters(first)
        except FormatError:
            pass
        else:
            return FileKind.HPRIM_SANTE
    if _looks_hprim(text.split("\n")[:400]):
        return FileKind.HPRIM
    return FileKind.TEXT if stripped else FileKind.UNKNOWN
