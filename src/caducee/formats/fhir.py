"""HPRIM médecin documents ⇄ FHIR R4B Bundles (Patient, DiagnosticReport, Observations).

Built as plain JSON, then validated twice: by the ``fhir.resources.R4B`` models (structure)
and by :func:`check_codes` (our value sets: gender, statuses, interpretation, comparator, the
NIR key), since the models do not enforce bindings. Reading back gives one document per
DiagnosticReport; only :class:`FormatError` subclasses escape :func:`parse_fhir`.
"""

import base64
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import Any, Literal

from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from caducee.formats.errors import (
    FormatError,
    MalformedMessage,
    MissingField,
    UnsupportedMessage,
)
from caducee.formats.fhir_codes import (
    DIAGNOSTIC_REPORT_STATUS,
    INTERPRETATION_CODES,
    INTERPRETATION_SYSTEM,
    NIR_SYSTEM,
    OBSERVATION_STATUS,
    RECIPIENT_EXTENSION,
    UNIT_EXTENSION,
    check_codes,
    status_to_fhir,
    ucum,
)
from caducee.formats.fhir_read import documents_from_bundle
from caducee.formats.hl7v2 import format_range
from caducee.formats.hprim_model import HPRIMDocument, HPRIMHeader, HPRIMResult, read_decimal
from caducee.formats.nir import parse_nir

__all__ = [
    "DIAGNOSTIC_REPORT_STATUS",
    "INTERPRETATION_SYSTEM",
    "NIR_SYSTEM",
    "OBSERVATION_STATUS",
    "check_codes",
    "parse_fhir",
    "to_fhir_bundle",
    "to_fhir_json",
]

BundleType = Literal["collection", "transaction"]
_NS = uuid.UUID("6f1c1f8e-6a3e-4c59-9d1e-7c8f0e0a5b11")  # Caducée's own uuid5 namespace
_LAB_REPORT = {"system": "http://loinc.org", "code": "11502-2", "display": "Laboratory report"}
_PI = {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "PI"}
_GENDER = {"M": "male", "F": "female"}


def _uid(*parts: object) -> str:
    return "urn:uuid:" + str(uuid.uuid5(_NS, "|".join(str(p) for p in parts)))


def _qty(text: str, unit: str) -> dict[str, Any] | None:
    """A Quantity for a decimal (with its ``<``/``>`` comparator), else ``None``."""
    number = read_decimal(text)
    if number is None:
        return None
    out: dict[str, Any] = {"value": number}
    stripped = text.strip()
    if stripped[0] in "<>":
        out["comparator"] = stripped[:2] if stripped[1:2] == "=" else stripped[0]
    if unit:
        out["unit"] = unit
        code = ucum(unit)
        if code is not None:
            out.update(system="http://unitsofmeasure.org", code=code)
    return out


def _patient(h: HPRIMHeader) -> dict[str, Any]:
    ids: list[dict[str, Any]] = [{"type": {"coding": [_PI]}, "value": h.patient_id}]
    sex = ""
    if h.nir:
        nir = parse_nir(h.nir)
        ids.append({"system": NIR_SYSTEM, "value": nir.body + nir.key})
        sex = nir.sex
    name: dict[str, Any] = {"family": h.last_name}
    if h.first_name:
        name["given"] = [h.first_name]
    out: dict[str, Any] = {
        "resourceType": "Patient",
        "identifier": [i for i in ids if i["value"]],
        "name": [name],
        "gender": _GENDER.get(sex, "unknown"),
    }
    if h.birth_date is not None:
        out["birthDate"] = h.birth_date.isoformat()
    address = {"line": [v for v in (h.address1, h.address2) if v], "city": h.city}
    address["postalCode"] = h.postcode
    address = {k: v for k, v in address.items() if v}
    if address:
        out["address"] = [address]
    return out


def _measure(out: dict[str, Any], value: str, unit: str, low: str, high: str) -> None:
    """Set value[x], the unit extension and referenceRange on an Observation or component."""
    quantity = _qty(value, unit)
    if quantity is not None:
        out["valueQuantity"] = quantity
    elif value:
        out["valueString"] = value
    if unit and quantity is None:  # a unit with no number to carry it
        out["extension"] = [{"url": UNIT_EXTENSION, "valueString": unit}]
    low_q, high_q = _qty(low, unit), _qty(high, unit)
    numeric = (low_q or not low) and (high_q or not high)
    if numeric and not any(q and "comparator" in q for q in (low_q, high_q)):
        bounds = {k: v for k, v in (("low", low_q), ("high", high_q)) if v is not None}
        if bounds:
            out["referenceRange"] = [bounds]
    else:
        out["referenceRange"] = [{"text": format_range(low, high)}]


def _observation(r: HPRIMResult, subject: str, when: date | None) -> dict[str, Any]:
    code_text = " ".join(r.code.split())  # a FHIR code has single inner spaces only
    coding = {"code": code_text} if code_text else {}
    if r.label and coding:
        coding["display"] = r.label
    code: dict[str, Any] = {"coding": [coding]} if coding else {}
    if r.label:
        code["text"] = r.label
    out: dict[str, Any] = {
        "resourceType": "Observation",
        "status": status_to_fhir(r.status),
        "category": [{"coding": [{"system": _CATEGORY_SYSTEM, "code": "laboratory"}]}],
        "code": code,
        "subject": {"reference": subject},
    }
    if when is not None:
        out["effectiveDateTime"] = when.isoformat()
    _measure(out, r.value, r.unit, r.low, r.high)
    if r.flag in INTERPRETATION_CODES:
        out["interpretation"] = [{"coding": [{"system": INTERPRETATION_SYSTEM, "code": r.flag}]}]
    elif r.flag:  # a flag outside the value set is kept as text, never as a code
        out["interpretation"] = [{"text": r.flag}]
    if r.value2 or r.unit2 or r.low2 or r.high2:  # the second unit, as a component
        component: dict[str, Any] = {"code": code}
        _measure(component, r.value2, r.unit2, r.low2, r.high2)
        out["component"] = [component]
    return out


_CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"


def _attachment(title: str, text: str) -> dict[str, Any]:
    data = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return {"contentType": "text/plain; charset=utf-8", "title": title, "data": data}


def _entries(seq: int, doc: HPRIMDocument) -> list[tuple[str, dict[str, Any]]]:
    h = doc.header
    patient_url = _uid("patient", seq, h.patient_id, h.file_number)
    observations = [
        (_uid("observation", seq, k, h.file_number), _observation(r, patient_url, h.exam_date))
        for k, r in enumerate(doc.results, start=1)
    ]
    report: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "status": "final",
        "category": [{"coding": [_V2_LAB]}],
        "code": {"coding": [_LAB_REPORT]},
        "subject": {"reference": patient_url},
        "result": [{"reference": url} for url, _ in observations],
    }
    if h.file_number:
        report["identifier"] = [{"value": h.file_number}]
    if h.exam_date is not None:
        report["effectiveDateTime"] = h.exam_date.isoformat()
        issued = datetime.combine(h.exam_date, time(), tzinfo=UTC)
        report["issued"] = issued.isoformat()
    if h.sender:
        report["performer"] = [{"display": h.sender}]
    if h.recipient:
        report["extension"] = [{"url": RECIPIENT_EXTENSION, "valueString": h.recipient}]
    forms = [_attachment("texte", doc.text)] if doc.text else []
    if doc.lab_text:
        forms.append(_attachment("TEX", doc.lab_text))
    if forms:
        report["presentedForm"] = forms
    report_url = _uid("report", seq, h.patient_id, h.file_number)
    return [(patient_url, _patient(h)), (report_url, report), *observations]


_V2_LAB = {"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "LAB"}


def to_fhir_bundle(
    documents: HPRIMDocument | Sequence[HPRIMDocument], *, bundle_type: BundleType = "collection"
) -> Bundle:
    """A validated R4B Bundle (``collection`` or ``transaction``) for ``documents``."""
    docs = [documents] if isinstance(documents, HPRIMDocument) else list(documents)
    if not docs:
        raise MissingField("Aucun document / no document", field="documents")
    entries: list[dict[str, Any]] = []
    for seq, doc in enumerate(docs, start=1):
        for url, resource in _entries(seq, doc):
            entry: dict[str, Any] = {"fullUrl": url, "resource": resource}
            if bundle_type == "transaction":
                entry["request"] = {"method": "POST", "url": resource["resourceType"]}
            entries.append(entry)
    bundle = _validate({"resourceType": "Bundle", "type": bundle_type, "entry": entries})
    return bundle


def to_fhir_json(
    documents: HPRIMDocument | Sequence[HPRIMDocument], *, bundle_type: BundleType = "collection"
) -> bytes:
    """:func:`to_fhir_bundle` as UTF-8 JSON."""
    bundle = to_fhir_bundle(documents, bundle_type=bundle_type)
    return bundle.model_dump_json(exclude_none=True, indent=2).encode("utf-8")


def _validate(payload: dict[str, Any]) -> Bundle:
    try:
        bundle = Bundle.model_validate(payload)
    except ValidationError as exc:
        loc = ".".join(str(p) for p in exc.errors()[0]["loc"]) if exc.errors() else None
        raise MalformedMessage("Bundle FHIR invalide / invalid FHIR Bundle", field=loc) from None
    check_codes(bundle)
    return bundle


def parse_fhir(data: bytes | str) -> list[HPRIMDocument]:
    """One document per DiagnosticReport of a Bundle (JSON); only FormatError escapes."""
    try:
        payload = json.loads(data)
    except (ValueError, RecursionError):
        raise MalformedMessage("JSON illisible / unreadable JSON", field="json") from None
    if not isinstance(payload, dict) or payload.get("resourceType") != "Bundle":
        raise UnsupportedMessage("Pas un Bundle FHIR / not a FHIR Bundle", field="resourceType")
    try:
        return documents_from_bundle(_validate(payload))
    except FormatError:
        raise
    except Exception:  # third-party errors are mapped at the boundary
        raise MalformedMessage("Bundle FHIR illisible / unreadable FHIR Bundle") from None
