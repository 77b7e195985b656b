"""Convert a lab result between HPRIM médecin, HL7 v2 ORU^R01 and FHIR R4B JSON.

The input kind is read from the content (:func:`~caducee.formats.sniff.sniff`, plus FHIR JSON);
HPRIM Santé is read too. HPRIM asked of an HPRIM file gives the bytes as received. Pure: bytes
in, bytes out; only :class:`FormatError` subclasses escape.
"""

from typing import Literal

from caducee.formats.errors import InvalidDate, UnsupportedMessage
from caducee.formats.fhir import parse_fhir, to_fhir_json
from caducee.formats.hl7v2 import parse_hl7v2, split_range, to_hl7v2
from caducee.formats.hprim_model import (
    HPRIMDocument,
    HPRIMHeader,
    HPRIMLabLine,
    HPRIMResult,
    HPRIMText,
)
from caducee.formats.hprim_parse import parse_hprim
from caducee.formats.hprim_sante_message import HPRIMSanteMessage, read_timestamp
from caducee.formats.hprim_sante_parse import parse_hprim_sante
from caducee.formats.hprim_write import to_hprim
from caducee.formats.sniff import FileKind, sniff

__all__ = ["TARGETS", "Target", "convert", "read_documents", "sante_documents"]

Target = Literal["hprim", "hl7", "fhir"]
TARGETS: tuple[Target, ...] = ("hprim", "hl7", "fhir")


def _looks_fhir(data: bytes) -> bool:
    """A JSON object naming a ``resourceType`` near its start (UTF-8, BOM allowed)."""
    head = data[:4096].removeprefix(b"\xef\xbb\xbf").lstrip()
    return head.startswith(b"{") and b'"resourceType"' in head


def _stamp(value: str, field: str) -> str:
    try:
        read_timestamp(value[:8])
    except ValueError:
        raise InvalidDate("Date illisible / unreadable date", field=field) from None
    return value[:8]


def sante_documents(message: HPRIMSanteMessage) -> list[HPRIMDocument]:
    """One HPRIM médecin document per ``P`` of an HPRIM Santé ORU: results as ``RES``, comments
    as ``TEX``; the sample id becomes the file number, the collection date the exam date."""
    sender, receiver = " ".join(message.sender).strip(), " ".join(message.receiver).strip()
    docs = []
    for p in message.patients:
        lab: list[HPRIMLabLine] = [HPRIMText(c) for c in p.comments]
        file_number, stamp = "", _stamp(message.timestamp, "H.13")
        for order in p.orders:
            file_number = file_number or order.sample_id
            stamp = _stamp(order.collected, "OBR.7") if order.collected else stamp
            lab += [HPRIMText(c) for c in order.comments]
            for o in order.observations:
                low, high = split_range(o.reference_range)
                kind = "N" if o.value_type == "NM" else "A"
                lab.append(HPRIMResult(o.label, o.code, kind, o.value, o.unit, low, high, o.flag,
                                       o.status))  # fmt: skip
                lab += [HPRIMText(c) for c in o.comments]
        header = HPRIMHeader(
            patient_id=p.patient_id or "-", last_name=p.last_name, first_name=p.first_name,
            address1="", address2="", postcode="", city="", birth_date=p.birth_date, nir="",
            file_number=file_number, exam_date=read_timestamp(stamp), sender=sender,
            recipient=receiver,
        )  # fmt: skip
        docs.append(HPRIMDocument(header, "", tuple(lab), True))
    return docs


def read_documents(data: bytes) -> tuple[FileKind | Literal["fhir"], list[HPRIMDocument]]:
    """The documents of ``data`` and the kind they were read as."""
    if _looks_fhir(data):
        return "fhir", parse_fhir(data)
    kind = sniff(data)
    if kind is FileKind.HPRIM:
        return kind, parse_hprim(data)
    if kind is FileKind.HPRIM_SANTE:
        return kind, sante_documents(parse_hprim_sante(data))
    if kind is FileKind.HL7V2:
        return kind, parse_hl7v2(data)
    raise UnsupportedMessage(
        f"Format non convertible / cannot convert this format ({kind.value})", field="content"
    )


def convert(data: bytes, to: Target) -> bytes:
    """``data`` (HPRIM, HPRIM Santé, HL7 v2 ORU^R01 or a FHIR Bundle) as ``to``.

    HPRIM out is CRLF ISO-8859-1 (what practice software reads), HL7 v2 is UTF-8 with ``\\r``
    segment ends, FHIR is UTF-8 JSON.
    """
    if to not in TARGETS:
        raise UnsupportedMessage("Cible inconnue / unknown target", field="to")
    kind, documents = read_documents(data)
    if to == "hprim":
        if kind is FileKind.HPRIM:
            return data
        return to_hprim(documents).encode("iso-8859-1", errors="replace")
    if to == "hl7":
        return to_hl7v2(documents).encode("utf-8")
    return to_fhir_json(documents)
