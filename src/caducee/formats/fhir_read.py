"""Read a validated R4B Bundle back into HPRIM médecin documents (one per DiagnosticReport).

What FHIR holds is recovered: identity (the INS-NIR and the lab's ``PI`` identifier), address,
file number, exam date, sender (performer), recipient (our extension), the report texts
(``presentedForm``) and each Observation's code, label, value, unit, range and flag.
"""

import base64
import binascii
from datetime import date
from typing import Any

from fhir.resources.R4B.bundle import Bundle

from caducee.formats.errors import InvalidDate, MalformedMessage, MissingField
from caducee.formats.fhir_codes import (
    NIR_SYSTEM,
    RECIPIENT_EXTENSION,
    UNIT_EXTENSION,
    status_from_fhir,
)
from caducee.formats.hl7v2 import split_range
from caducee.formats.hprim_model import (
    HPRIMDocument,
    HPRIMHeader,
    HPRIMLabLine,
    HPRIMResult,
    HPRIMText,
)

__all__ = ["documents_from_bundle"]


def _number(value: Any) -> str:
    return "" if value is None else format(value, "f")


def _quantity(q: Any) -> tuple[str, str]:
    """``(text, unit)`` of a Quantity, the comparator written before the number."""
    if q is None:
        return "", ""
    return (q.comparator or "") + _number(q.value), q.unit or ""


def _date(value: Any, field: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value if type(value) is date else value.date()  # type: ignore[attr-defined]
    text = str(value)[:10]
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidDate("Date illisible / unreadable date", field=field) from None


def _measure(obs: Any) -> tuple[str, str, str, str]:
    """``(value, unit, low, high)`` of an Observation or one of its components."""
    if obs.valueQuantity is not None:
        value, unit = _quantity(obs.valueQuantity)
    else:
        value = obs.valueString or ""
        unit = next(
            (e.valueString or "" for e in obs.extension or [] if e.url == UNIT_EXTENSION), ""
        )
    low = high = ""
    if obs.referenceRange:
        rr = obs.referenceRange[0]
        if rr.text:
            low, high = split_range(rr.text)
        else:
            low, unit_low = _quantity(rr.low)
            high, unit_high = _quantity(rr.high)
            unit = unit or unit_low or unit_high
    return value, unit, low, high


def _result(obs: Any) -> HPRIMResult:
    code = label = ""
    if obs.code is not None:
        coding = (obs.code.coding or [None])[0]
        code = (coding.code or "") if coding is not None else ""
        label = obs.code.text or ((coding.display or "") if coding is not None else "")
    value, unit, low, high = _measure(obs)
    kind = "N" if obs.valueQuantity is not None else "A"
    flag = ""
    for concept in obs.interpretation or []:
        for coding in concept.coding or []:
            flag = flag or (coding.code or "")
        flag = flag or (concept.text or "")
    status = status_from_fhir(obs.status)
    second = _measure(obs.component[0]) if obs.component else ("", "", "", "")
    return HPRIMResult(label, code, kind, value, unit, low, high, flag, status, *second)


def _text(report: Any, title: str) -> str:
    for form in report.presentedForm or []:
        if form.title == title and form.data is not None:
            try:
                raw = form.data
                if not isinstance(raw, bytes):  # the model usually decodes base64 itself
                    raw = base64.b64decode(str(raw), validate=True)
                return raw.decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise MalformedMessage("Texte illisible / unreadable text", field=title) from None
    return ""


def _header(patient: Any, report: Any) -> HPRIMHeader:
    patient_id = nir = ""
    for ident in patient.identifier or []:
        if ident.system == NIR_SYSTEM:
            nir = ident.value or ""
        elif not patient_id:
            patient_id = ident.value or ""
    name = (patient.name or [None])[0]
    last = (name.family or "") if name is not None else ""
    first = " ".join(name.given or []) if name is not None else ""
    if not last:
        raise MissingField("Nom absent / no name", field="Patient.name")
    address = (patient.address or [None])[0]
    lines = list(address.line or []) if address is not None else []
    lines += ["", ""]
    recipient = next(
        (e.valueString or "" for e in report.extension or [] if e.url == RECIPIENT_EXTENSION), ""
    )
    performer = (report.performer or [None])[0]
    return HPRIMHeader(
        patient_id=patient_id or "-", last_name=last, first_name=first,
        address1=lines[0], address2=lines[1],
        postcode=(address.postalCode or "") if address is not None else "",
        city=(address.city or "") if address is not None else "",
        birth_date=_date(patient.birthDate, "Patient.birthDate"), nir=nir,
        file_number=(report.identifier[0].value or "") if report.identifier else "",
        exam_date=_date(report.effectiveDateTime, "DiagnosticReport.effectiveDateTime"),
        sender=(performer.display or "") if performer is not None else "",
        recipient=recipient,
    )  # fmt: skip


def documents_from_bundle(bundle: Bundle) -> list[HPRIMDocument]:
    """One document per DiagnosticReport; its subject and results must be in the Bundle."""
    by_url: dict[str, Any] = {}
    reports: list[Any] = []
    for entry in bundle.entry or []:
        resource: Any = entry.resource
        if entry.fullUrl:
            by_url[str(entry.fullUrl)] = resource
        if resource.__resource_type__ == "DiagnosticReport":
            reports.append(resource)
    if not reports:
        raise MissingField("Aucun DiagnosticReport / no DiagnosticReport", field="entry")
    docs = []
    for report in reports:
        patient = by_url.get(str(report.subject.reference)) if report.subject else None
        if patient is None or patient.__resource_type__ != "Patient":
            raise MissingField("Patient introuvable / patient not found", field="subject")
        lab: list[HPRIMLabLine] = []
        for ref in report.result or []:
            obs = by_url.get(str(ref.reference))
            if obs is None or obs.__resource_type__ != "Observation":
                raise MissingField("Résultat introuvable / result not found", field="result")
            lab.append(_result(obs))
        tex = _text(report, "TEX")
        lab += [HPRIMText(line) for line in tex.split("\n")] if tex else []
        docs.append(HPRIMDocument(_header(patient, report), _text(report, "texte"), tuple(lab),
                                  bool(lab)))  # fmt: skip
    return docs
