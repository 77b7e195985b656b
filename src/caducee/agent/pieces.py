"""What one received attachment becomes in the inbox: pieces in the practice's format.

- ``split`` / ``hprim``: an HPRIM file becomes one file per document, as received (bytes
  unchanged, each ended by ``****FINFICHIER****``); any other file is kept as it is.
- ``original``: every file as it was sent.
- ``hl7`` / ``fhir``: each result document (HPRIM, HPRIM Santé, HL7 v2, FHIR) is converted
  to HL7 v2 ORU^R01 (``.hl7``) or FHIR R4B JSON (``.json``); a document that cannot be
  converted is kept as received (nothing is lost) and ``failed`` says so.

Each piece carries the document read from it, when there is one, for patient matching and
the results table. Pure: bytes in, pieces out.
"""

from __future__ import annotations

from dataclasses import dataclass

from caducee.agent.recipients import FINFICHIER, is_hprim, split_hprim
from caducee.formats.convert import convert, read_documents
from caducee.formats.errors import FormatError, UnknownEncoding
from caducee.formats.hprim_model import HPRIMDocument
from caducee.formats.sniff import FileKind, sniff
from caducee.formats.text import decode_text, normalise_newlines

__all__ = ["CONVERTED_EXT", "Piece", "hprim_label", "pieces_of"]

CONVERTED_EXT = {"hl7": "hl7", "fhir": "json"}
_STRUCTURED = (FileKind.HPRIM_SANTE, FileKind.HL7V2)


@dataclass(frozen=True)
class Piece:
    """One file to write: label for its name, bytes, extension, and the document read."""

    label: str
    data: bytes
    ext: str
    document: HPRIMDocument | None = None
    converted: bool = False
    failed: bool = False


def _header_text(document: bytes) -> str:
    """The document as text, in the encoding it was written in (UTF-8 or a Windows one)."""
    try:
        return decode_text(document).text
    except UnknownEncoding:  # a label never fails a delivery: the common encoding, marked
        return normalise_newlines(document.decode("cp1252", errors="replace"))


def hprim_label(document: bytes) -> str:
    """The patient's name (header lines 2 and 3) of an HPRIM document, else its file number."""
    lines = _header_text(document).split("\n")
    text = [line.strip() for line in lines[:12]]
    if len(text) >= 3 and (text[1] or text[2]):
        return "-".join(p for p in (text[1], text[2]) if p)
    if len(text) >= 9 and text[8]:
        return text[8]
    return "document"


def _one_document(data: bytes) -> HPRIMDocument | None:
    """The document of ``data`` when it holds exactly one readable result document."""
    try:
        _, documents = read_documents(data)
    except FormatError:
        return None
    return documents[0] if len(documents) == 1 else None


def _converted(label: str, data: bytes, ext: str, target: str) -> Piece:
    document = _one_document(data)
    try:
        out = convert(data, "hl7" if target == "hl7" else "fhir")
    except FormatError:
        return Piece(label, data, ext, document, failed=True)
    return Piece(label, out, CONVERTED_EXT[target], document, converted=True)


def _hprim_documents(data: bytes) -> list[tuple[str, bytes]]:
    newline = b"\r\n" if b"\r\n" in data else b"\n"
    pieces = []
    for document in split_hprim(data):
        text = document if document.endswith(b"\n") else document + newline
        pieces.append((hprim_label(text), text + FINFICHIER + newline))
    return pieces


def pieces_of(filename: str, data: bytes, output_format: str) -> list[Piece]:
    """The pieces of one attachment for ``output_format`` (see the module docstring)."""
    stem, dot, ext = filename.rpartition(".")
    if not dot:
        stem, ext = filename, "bin"
    if output_format == "original":
        return [Piece(stem, data, ext, _one_document(data) if is_hprim(data) else None)]
    if is_hprim(data):
        documents = _hprim_documents(data)
        if output_format in CONVERTED_EXT:
            return [_converted(label, d, ext, output_format) for label, d in documents]
        return [Piece(label, d, ext, _one_document(d)) for label, d in documents]
    if output_format in CONVERTED_EXT and (
        sniff(data) in _STRUCTURED or data.lstrip().startswith(b"{")
    ):
        return [_converted(stem, data, ext, output_format)]
    structured = sniff(data) in _STRUCTURED
    return [Piece(stem, data, ext, _one_document(data) if structured else None)]
