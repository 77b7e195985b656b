"""Write HPRIM médecin files from ``HPRIMDocument`` values.

The output reads back (``parse_hprim``) to equal documents. Values that would break the layout
(a newline, a ``|`` in a ``RES`` field, a line that is a marker) raise ``UnexpectedContent``
rather than being written wrong; missing required fields raise ``MissingField``.
"""

import re
from collections.abc import Sequence
from datetime import date

from caducee.formats.errors import MissingField, UnexpectedContent
from caducee.formats.hprim_model import RESULT_FIELDS, HPRIMDocument, HPRIMHeader, HPRIMResult
from caducee.formats.hprim_parse import FIN, FINFICHIER, LAB
from caducee.formats.nir import parse_nir

__all__ = ["to_hprim"]

_MARKERS = frozenset({LAB, FIN, FINFICHIER})
_POSTCODE_RE = re.compile(r"^([0-9]{5}|2[AB][0-9]{3})$")
_CITY_LOOKS_CODED_RE = re.compile(r"^([0-9]{5}|2[AB][0-9]{3})(\s|$)")


def _clean(value: str, field: str) -> str:
    if "\n" in value or "\r" in value:
        raise UnexpectedContent("Saut de ligne dans un champ / newline in a field", field=field)
    if value != value.strip():
        raise UnexpectedContent("Espaces en bord de champ / padded field", field=field)
    if value in _MARKERS:
        raise UnexpectedContent("Marqueur dans un champ / marker in a field", field=field)
    return value


def _date(value: date | None) -> str:
    return "" if value is None else f"{value.day:02d}/{value.month:02d}/{value.year:04d}"


def _header_lines(header: HPRIMHeader) -> list[str]:
    for name in ("patient_id", "last_name", "first_name"):
        if not getattr(header, name).strip():
            raise MissingField("Champ obligatoire vide / required field empty", field=name)
    if header.birth_date is None:
        raise MissingField("Date de naissance absente / birth date missing", field="birth_date")
    nir = ""
    if header.nir:
        value = parse_nir(header.nir)
        nir = str(value)
    if header.postcode and not _POSTCODE_RE.match(header.postcode):
        raise UnexpectedContent("Code postal invalide / invalid postcode", field="postcode")
    if not header.postcode and _CITY_LOOKS_CODED_RE.match(header.city):
        raise UnexpectedContent("Ville sans code postal / city reads as postcode", field="city")
    postcode_city = f"{header.postcode} {header.city}".strip()
    values = [
        _clean(header.patient_id, "patient_id"),
        _clean(header.last_name, "last_name"),
        _clean(header.first_name, "first_name"),
        _clean(header.address1, "address1"),
        _clean(header.address2, "address2"),
        _clean(postcode_city, "city"),
        _date(header.birth_date),
        nir,
        _clean(header.file_number, "file_number"),
        _date(header.exam_date),
        _clean(header.sender, "sender"),
        _clean(header.recipient, "recipient"),
    ]
    return values


def _result_line(result: HPRIMResult) -> str:
    fields = list(result.fields())
    for name, value in zip(RESULT_FIELDS, fields, strict=True):
        _clean(value, name)
        if "|" in value:
            raise UnexpectedContent("« | » dans un champ RES / pipe in a RES field", field=name)
    if not result.label and not result.code:
        raise MissingField("Ni libellé ni code / no label nor code", field="code")
    if result.label.endswith(":"):
        raise UnexpectedContent("Libellé finissant par « : » / label ends with ':'", field="label")
    while len(fields) > 3 and not fields[-1]:
        fields.pop()
    return "RES|" + "|".join(fields)


def _document_lines(doc: HPRIMDocument) -> list[str]:
    lines = _header_lines(doc.header)
    if doc.text:
        for line in doc.text.split("\n"):
            if "\r" in line or line.strip() in _MARKERS:
                raise UnexpectedContent("Marqueur dans le texte / marker in the text", field="text")
            lines.append(line)
    if doc.has_lab or doc.lab:
        lines.append(LAB)
        for item in doc.lab:
            if isinstance(item, HPRIMResult):
                lines.append(_result_line(item))
            else:
                if "\n" in item.text or "\r" in item.text:
                    raise UnexpectedContent("Saut de ligne dans TEX / newline in TEX", field="TEX")
                lines.append("TEX|" + item.text)
    lines.append(FIN)
    return lines


def to_hprim(documents: HPRIMDocument | Sequence[HPRIMDocument], *, newline: str = "\r\n") -> str:
    """One HPRIM médecin file: each document ended by ``****FIN****``, then ``****FINFICHIER****``.

    ``newline`` is CRLF by default (what Windows practice software expects).
    """
    docs = [documents] if isinstance(documents, HPRIMDocument) else list(documents)
    if not docs:
        raise MissingField("Aucun document / no document", field="documents")
    lines: list[str] = []
    for doc in docs:
        lines.extend(_document_lines(doc))
    lines.append(FINFICHIER)
    return newline.join(lines) + newline
