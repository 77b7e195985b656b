"""The prescription as an R4-shaped FHIR document Bundle (built and read with fhir.resources R4B).

Shape (ANS ``ans.fhir.fr.eprescription`` and gematik's KBV bundle, reduced): Composition,
Patient (INS-NIR identifier), Practitioner (RPPS as IDNPS ``8`` + RPPS), one MedicationRequest
per line sharing ``groupIdentifier`` = the prescription id; each line is a CIP13/UCD13 code or
a free-text preparation, with a structured dosage and its text, a quantity, a duration and a
number of renewals. Reading checks the FHIR structure first (the R4B models), then our rules
(identifiers' keys, drug codes, plausible dosages); only ``PrescriptionError`` escapes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from caducee.errors import CaduceeError
from caducee.formats.nir import parse_nir
from caducee.prescriptions.codes import DrugCode, parse_drug_code
from caducee.prescriptions.dosage import MAX_RENEWALS, Dosage
from caducee.prescriptions.errors import InvalidPrescription, PrescriptionError
from caducee.prescriptions.ids import parse_prescription_id

__all__ = [
    "MAX_BUNDLE_BYTES",
    "MAX_LINES",
    "NIR_SYSTEM",
    "PRESCRIPTION_ID_SYSTEM",
    "RPPS_SYSTEM",
    "Prescription",
    "PrescriptionLine",
    "build_bundle",
    "parse_bundle",
]

NIR_SYSTEM = "urn:oid:1.2.250.1.213.1.4.8"
RPPS_SYSTEM = "urn:oid:1.2.250.1.71.4.2.1"  # IDNPS: "8" + RPPS
PRESCRIPTION_ID_SYSTEM = "https://caducee.test/fhir/NamingSystem/prescription-id"
MAX_BUNDLE_BYTES = 256 * 1024
MAX_LINES = 30
_GENDERS = ("male", "female", "other", "unknown")


@dataclass(frozen=True)
class PrescriptionLine:
    """One line: a drug code or a free-text preparation, its dosage, quantity and renewals."""

    dosage: Dosage
    quantity: int
    drug: DrugCode | None = None
    preparation: str | None = None
    label: str = ""
    renewals: int = 0

    def __post_init__(self) -> None:
        if (self.drug is None) == (self.preparation is None):
            raise InvalidPrescription(
                "une ligne a un code OU une préparation / a line has a code OR a preparation"
            )
        if self.preparation is not None and not 3 <= len(self.preparation.strip()) <= 1000:
            raise InvalidPrescription("préparation de 3 à 1000 caractères / 3-1000 characters")
        if not isinstance(self.quantity, int) or not 1 <= self.quantity <= 100:
            raise InvalidPrescription("quantité de 1 à 100 / quantity 1 to 100")
        if not isinstance(self.renewals, int) or not 0 <= self.renewals <= MAX_RENEWALS:
            raise InvalidPrescription(
                f"renouvellements de 0 à {MAX_RENEWALS} / renewals 0 to {MAX_RENEWALS}"
            )


@dataclass(frozen=True)
class Prescription:
    """A prescription read back from its bundle and checked."""

    prescription_id: str
    nir: str
    patient_family: str
    patient_given: str
    birth_date: date
    gender: str
    rpps: str
    prescriber_name: str
    authored_on: datetime
    lines: tuple[PrescriptionLine, ...]


def _line_json(pid: str, index: int, line: PrescriptionLine, authored: str) -> dict[str, Any]:
    d = line.dosage
    medication: dict[str, Any]
    if line.drug is not None:
        medication = {
            "coding": [{"system": line.drug.system, "code": line.drug.code, "display": line.label}]
            if line.label
            else [{"system": line.drug.system, "code": line.drug.code}],
        }
    else:
        medication = {"text": line.preparation}
    return {
        "resourceType": "MedicationRequest",
        "id": f"line-{index + 1}",
        "identifier": [{"system": PRESCRIPTION_ID_SYSTEM, "value": f"{pid}/{index + 1}"}],
        "groupIdentifier": {"system": PRESCRIPTION_ID_SYSTEM, "value": pid},
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": medication,
        "subject": {"reference": "urn:uuid:patient"},
        "requester": {"reference": "urn:uuid:practitioner"},
        "authoredOn": authored,
        "dosageInstruction": [
            {
                "text": d.text_fr(),
                "timing": {
                    "repeat": {
                        "frequency": d.frequency,
                        "period": 1,
                        "periodUnit": d.period,
                        "boundsDuration": {
                            "value": d.duration_days,
                            "unit": "j",
                            "system": "http://unitsofmeasure.org",
                            "code": "d",
                        },
                    }
                },
                "doseAndRate": [{"doseQuantity": {"value": float(d.amount), "unit": d.unit}}],
            }
        ],
        "dispenseRequest": {
            "quantity": {"value": line.quantity, "unit": "boîte"},
            "numberOfRepeatsAllowed": line.renewals,
            "expectedSupplyDuration": {
                "value": d.duration_days,
                "unit": "j",
                "system": "http://unitsofmeasure.org",
                "code": "d",
            },
        },
    }


def build_bundle(
    *,
    prescription_id: str,
    nir: str,
    patient_family: str,
    patient_given: str,
    birth_date: date,
    gender: str,
    rpps: str,
    prescriber_name: str,
    authored_on: datetime,
    lines: Sequence[PrescriptionLine],
) -> bytes:
    """The bundle as compact UTF-8 JSON (what the prescriber signs); checked by reading back."""
    pid = parse_prescription_id(prescription_id)
    try:
        checked = parse_nir(nir)
    except CaduceeError as exc:  # the NIR's own error (formats)
        raise _fail(exc.reason) from None
    nir_value = checked.body + checked.key
    if not lines or len(lines) > MAX_LINES:
        raise InvalidPrescription(f"de 1 à {MAX_LINES} lignes / 1 to {MAX_LINES} lines")
    authored = authored_on.isoformat(timespec="seconds")
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": "urn:uuid:composition",
            "resource": {
                "resourceType": "Composition",
                "status": "final",
                "type": {"coding": [{"system": "http://loinc.org", "code": "57833-6"}]},
                "subject": {"reference": "urn:uuid:patient"},
                "date": authored,
                "author": [{"reference": "urn:uuid:practitioner"}],
                "title": "Ordonnance",
                "section": [
                    {"entry": [{"reference": f"urn:uuid:line-{i + 1}"} for i in range(len(lines))]}
                ],
            },
        },
        {
            "fullUrl": "urn:uuid:patient",
            "resource": {
                "resourceType": "Patient",
                "identifier": [{"system": NIR_SYSTEM, "value": nir_value}],
                "name": [{"family": patient_family, "given": [patient_given]}],
                "gender": gender,
                "birthDate": birth_date.isoformat(),
            },
        },
        {
            "fullUrl": "urn:uuid:practitioner",
            "resource": {
                "resourceType": "Practitioner",
                "identifier": [{"system": RPPS_SYSTEM, "value": "8" + rpps}],
                "name": [{"text": prescriber_name}],
            },
        },
    ]
    entries += [
        {"fullUrl": f"urn:uuid:line-{i + 1}", "resource": _line_json(pid, i, line, authored)}
        for i, line in enumerate(lines)
    ]
    document = {
        "resourceType": "Bundle",
        "identifier": {"system": PRESCRIPTION_ID_SYSTEM, "value": pid},
        "type": "document",
        "timestamp": authored,
        "entry": entries,
    }
    data = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    parse_bundle(data)  # a builder never emits what its reader refuses
    return data


# -- reading ---------------------------------------------------------------------------------


def _fail(what: str) -> InvalidPrescription:
    return InvalidPrescription(f"ordonnance invalide : {what} / invalid prescription: {what}")


def _one(resources: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = [r for r in resources if r.get("resourceType") == kind]
    if len(found) != 1:
        raise _fail(f"exactly one {kind} expected")
    return found[0]


def _identifier(resource: dict[str, Any], system: str, what: str) -> str:
    values = [
        i.get("value")
        for i in resource.get("identifier") or []
        if isinstance(i, dict) and i.get("system") == system
    ]
    if len(values) != 1 or not isinstance(values[0], str):
        raise _fail(f"{what} identifier missing")
    return values[0]


def _read_line(resource: dict[str, Any], pid: str) -> PrescriptionLine:
    group = resource.get("groupIdentifier") or {}
    if group.get("value") != pid or resource.get("status") != "active":
        raise _fail("a MedicationRequest is not an active line of this prescription")
    concept = resource.get("medicationCodeableConcept")
    if not isinstance(concept, dict):
        raise _fail("MedicationRequest.medicationCodeableConcept missing")
    codings = concept.get("coding") or []
    drug, preparation, label = None, None, ""
    if codings:
        if len(codings) != 1:
            raise _fail("one coding per line")
        coding = codings[0]
        drug = parse_drug_code(str(coding.get("code", "")), system=coding.get("system"))
        label = str(coding.get("display") or "")
    else:
        preparation = concept.get("text")
        if not isinstance(preparation, str):
            raise _fail("a line without a code needs the preparation's text")
    try:
        [instruction] = resource["dosageInstruction"]
        repeat = instruction["timing"]["repeat"]
        [dose] = instruction["doseAndRate"]
        if repeat.get("period", 1) != 1 or repeat["boundsDuration"].get("code") != "d":
            raise _fail("dosage period must be 1 and duration in days")
        dosage = Dosage.checked(
            Decimal(str(dose["doseQuantity"]["value"])),
            dose["doseQuantity"]["unit"],
            repeat["frequency"],
            repeat["periodUnit"],
            int(repeat["boundsDuration"]["value"]),
        )
        request = resource["dispenseRequest"]
        quantity = request["quantity"]["value"]
        renewals = request.get("numberOfRepeatsAllowed", 0)
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise _fail(f"structured dosage or quantity incomplete ({type(exc).__name__})") from None
    if isinstance(quantity, float) and quantity.is_integer():
        quantity = int(quantity)
    return PrescriptionLine(
        dosage=dosage,
        quantity=quantity,
        drug=drug,
        preparation=preparation,
        label=label,
        renewals=renewals,
    )


def parse_bundle(data: bytes) -> Prescription:
    """Read and check a prescription bundle; ``InvalidPrescription`` (or a subclass) if not."""
    if not isinstance(data, bytes) or len(data) > MAX_BUNDLE_BYTES:
        raise _fail(f"at most {MAX_BUNDLE_BYTES} bytes of JSON")
    try:
        payload = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _fail("not UTF-8 JSON") from None
    if not isinstance(payload, dict) or payload.get("resourceType") != "Bundle":
        raise _fail("not a FHIR Bundle")
    try:
        Bundle.model_validate(payload)
    except ValidationError as exc:
        where = ".".join(str(p) for p in exc.errors()[0].get("loc", ()))[:200]
        raise _fail(f"not valid FHIR R4B ({where})") from None
    except (ValueError, TypeError, KeyError, RecursionError):  # KeyError: fhir.resources
        # looks an empty or unknown nested resourceType up in its type map without a guard
        raise _fail("not valid FHIR R4B") from None
    try:
        return _check(payload)
    except PrescriptionError:
        raise
    except CaduceeError as exc:  # the NIR's own error (formats)
        raise _fail(exc.reason) from None
    except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError):
        raise _fail("unexpected structure") from None


def _check(payload: dict[str, Any]) -> Prescription:
    if payload.get("type") != "document":
        raise _fail("Bundle.type must be document")
    pid = parse_prescription_id(str((payload.get("identifier") or {}).get("value", "")))
    resources = [e.get("resource") or {} for e in payload.get("entry") or []]
    _one(resources, "Composition")
    patient = _one(resources, "Patient")
    practitioner = _one(resources, "Practitioner")
    nir = parse_nir(_identifier(patient, NIR_SYSTEM, "patient INS-NIR"))
    idnps = _identifier(practitioner, RPPS_SYSTEM, "prescriber RPPS")
    if len(idnps) != 12 or not idnps.startswith("8") or not idnps.isdigit():
        raise _fail("prescriber RPPS must be 8 + 11 digits")
    gender = patient.get("gender")
    if gender not in _GENDERS:
        raise _fail("Patient.gender")
    [name] = patient.get("name") or [{}]
    family, given = str(name.get("family", "")), " ".join(name.get("given") or [])
    if not family or not given or "birthDate" not in patient:
        raise _fail("patient name and birth date required")
    lines = [_read_line(r, pid) for r in resources if r.get("resourceType") == "MedicationRequest"]
    if not 1 <= len(lines) <= MAX_LINES:
        raise _fail(f"1 to {MAX_LINES} MedicationRequest lines")
    authored = datetime.fromisoformat(str(payload["timestamp"]))
    if authored.tzinfo is None:
        raise _fail("Bundle.timestamp needs a time zone")
    prescriber = (practitioner.get("name") or [{}])[0].get("text", "")
    return Prescription(
        prescription_id=pid,
        nir=nir.body + nir.key,
        patient_family=family,
        patient_given=given,
        birth_date=date.fromisoformat(patient["birthDate"]),
        gender=gender,
        rpps=idnps[1:],
        prescriber_name=str(prescriber),
        authored_on=authored,
        lines=tuple(lines),
    )
