"""The code systems and value sets our FHIR Bundles use, and the checks the models skip.

``fhir.resources`` validates structure but not bindings (``gender="xx"`` passes), so
:func:`check_codes` enforces ours: administrative gender, DiagnosticReport and Observation
status, v3 ObservationInterpretation (L/H/LL/HH/N), Quantity comparator, and the INS-NIR key.
"""

from typing import Any

from fhir.resources.R4B.bundle import Bundle

from caducee.formats.errors import FormatError, InvalidCode, InvalidNIR
from caducee.formats.nir import parse_nir

__all__ = [
    "BUNDLE_TYPES",
    "COMPARATORS",
    "DIAGNOSTIC_REPORT_STATUS",
    "GENDERS",
    "INTERPRETATION_CODES",
    "INTERPRETATION_SYSTEM",
    "NIR_SYSTEM",
    "OBSERVATION_STATUS",
    "RECIPIENT_EXTENSION",
    "UCUM_SYSTEM",
    "UNIT_EXTENSION",
    "check_codes",
    "status_from_fhir",
    "status_to_fhir",
    "ucum",
]

#: INS-NIR (ANS): the NIR used as the national health identifier.
NIR_SYSTEM = "urn:oid:1.2.250.1.213.1.4.8"
INTERPRETATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
UCUM_SYSTEM = "http://unitsofmeasure.org"
#: Our extension carrying HPRIM header line 12 (the recipient) on a DiagnosticReport.
RECIPIENT_EXTENSION = "urn:caducee:fhir:extension:hprim-recipient"
#: Our extension carrying an HPRIM unit when the value is not a number (no Quantity to hold it).
UNIT_EXTENSION = "urn:caducee:fhir:extension:hprim-unit"

GENDERS = frozenset({"male", "female", "other", "unknown"})
DIAGNOSTIC_REPORT_STATUS = frozenset(
    {"registered", "partial", "preliminary", "final", "amended", "corrected", "appended",
     "cancelled", "entered-in-error", "unknown"}
)  # fmt: skip
OBSERVATION_STATUS = frozenset(
    {"registered", "preliminary", "final", "amended", "corrected", "cancelled",
     "entered-in-error", "unknown"}
)  # fmt: skip
INTERPRETATION_CODES = frozenset({"L", "H", "LL", "HH", "N"})
COMPARATORS = frozenset({"<", "<=", ">=", ">"})
BUNDLE_TYPES = frozenset({"collection", "transaction"})

_STATUS_TO_FHIR = {"F": "final", "C": "corrected", "P": "preliminary", "X": "cancelled"}
_STATUS_FROM_FHIR = {v: k for k, v in _STATUS_TO_FHIR.items()} | {"amended": "C"}
#: Lab units as French labs write them → UCUM, where the mapping is obvious.
_UCUM = {
    "g/l": "g/L", "mg/l": "mg/L", "mg/dl": "mg/dL", "g/dl": "g/dL", "mmol/l": "mmol/L",
    "µmol/l": "umol/L", "umol/l": "umol/L", "nmol/l": "nmol/L", "pmol/l": "pmol/L",
    "ui/l": "[IU]/L", "u/l": "U/L", "mui/l": "m[IU]/L", "%": "%", "fl": "fL", "pg": "pg",
    "g/l ": "g/L", "giga/l": "10*9/L", "g/mm3": "10*3/uL", "t/l": "10*12/L",
    "tera/l": "10*12/L", "mm/h": "mm/h", "s": "s", "sec": "s", "ml/min": "mL/min",
    "ng/ml": "ng/mL", "µg/l": "ug/L", "ug/l": "ug/L", "meq/l": "meq/L",
}  # fmt: skip


def ucum(unit: str) -> str | None:
    """The UCUM code of a lab unit when the mapping is obvious, else ``None``."""
    return _UCUM.get(unit.strip().lower())


def status_to_fhir(status: str) -> str:
    """HPRIM status (``F``, ``C``, ``P``...) → Observation.status; empty or unknown → final."""
    return _STATUS_TO_FHIR.get(status.upper(), "final")


def status_from_fhir(status: str) -> str:
    return _STATUS_FROM_FHIR.get(status, "F")


def _fail(field: str) -> InvalidCode:
    return InvalidCode("Code hors de son jeu de valeurs / code outside its value set", field=field)


def _check_observation(obs: Any, where: str) -> None:
    if obs.status not in OBSERVATION_STATUS:
        raise _fail(f"{where}.status")
    for k, concept in enumerate(obs.interpretation or []):
        for coding in concept.coding or []:
            if coding.system != INTERPRETATION_SYSTEM or coding.code not in INTERPRETATION_CODES:
                raise _fail(f"{where}.interpretation[{k}]")
    comparator = obs.valueQuantity.comparator if obs.valueQuantity is not None else None
    if comparator is not None and comparator not in COMPARATORS:
        raise _fail(f"{where}.valueQuantity.comparator")


def _check_patient(patient: Any, where: str) -> None:
    if patient.gender is not None and patient.gender not in GENDERS:
        raise _fail(f"{where}.gender")
    for k, ident in enumerate(patient.identifier or []):
        if ident.system == NIR_SYSTEM:
            try:
                parse_nir(ident.value or "", field=f"{where}.identifier[{k}]")
            except FormatError:
                raise InvalidNIR(
                    "NIR invalide / invalid NIR", field=f"{where}.identifier[{k}]"
                ) from None


def check_codes(bundle: Bundle) -> None:
    """Raise :class:`InvalidCode` (or ``InvalidNIR``) at the first code outside our sets."""
    if bundle.type not in BUNDLE_TYPES:
        raise _fail("Bundle.type")
    for n, entry in enumerate(bundle.entry or []):
        resource: Any = entry.resource
        where = f"entry[{n}]"
        kind = getattr(resource, "__resource_type__", type(resource).__name__)
        if kind == "Patient":
            _check_patient(resource, where)
        elif kind == "Observation":
            _check_observation(resource, where)
        elif kind == "DiagnosticReport" and resource.status not in DIAGNOSTIC_REPORT_STATUS:
            raise _fail(f"{where}.status")
