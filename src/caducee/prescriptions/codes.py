"""Drug codes: CIP13 (presentation, prefix 34009) and UCD13 (dispensing unit, prefix 34008).

Both are EAN-13 numbers (GS1 General Specifications §7.9: weights 1,3,1,3,... from the left
on the first 12 digits, check = (10 - sum mod 10) mod 10). FHIR systems are those of the ANS
e-prescription IG (``data.esante.gouv.fr``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from caducee.prescriptions.errors import InvalidDrugCode

__all__ = [
    "CIP_SYSTEM",
    "UCD_SYSTEM",
    "DrugCode",
    "DrugCodeKind",
    "ean13_check_digit",
    "parse_drug_code",
]

CIP_SYSTEM = "http://data.esante.gouv.fr/ansm/medicament/Presentation"
UCD_SYSTEM = "http://data.esante.gouv.fr/ansm/medicament/UCD"


class DrugCodeKind(enum.Enum):
    CIP13 = "cip13"
    UCD13 = "ucd13"

    @property
    def prefix(self) -> str:
        return "34009" if self is DrugCodeKind.CIP13 else "34008"

    @property
    def system(self) -> str:
        return CIP_SYSTEM if self is DrugCodeKind.CIP13 else UCD_SYSTEM


def ean13_check_digit(first12: str) -> str:
    """The EAN-13 check digit of 12 ASCII digits."""
    if len(first12) != 12 or not first12.isascii() or not first12.isdigit():
        raise InvalidDrugCode("12 chiffres attendus / 12 digits expected")
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return str((10 - total % 10) % 10)


@dataclass(frozen=True)
class DrugCode:
    """A checked CIP13 or UCD13."""

    kind: DrugCodeKind
    code: str

    @property
    def system(self) -> str:
        return self.kind.system


def parse_drug_code(text: str, *, system: str | None = None) -> DrugCode:
    """Read a CIP13 or UCD13 (spaces ignored); check length, prefix, EAN key and system."""
    compact = "".join(text.split())
    if len(compact) != 13 or not compact.isascii() or not compact.isdigit():
        raise InvalidDrugCode("un code CIP13/UCD13 a 13 chiffres / a CIP13/UCD13 has 13 digits")
    kind = next((k for k in DrugCodeKind if compact.startswith(k.prefix)), None)
    if kind is None:
        raise InvalidDrugCode(
            "préfixe inconnu (34009 CIP13, 34008 UCD13) / unknown prefix (34009 CIP13, 34008 UCD13)"
        )
    if ean13_check_digit(compact[:12]) != compact[12]:
        raise InvalidDrugCode(
            f"clé EAN-13 incorrecte pour ce {kind.name} / wrong EAN-13 check digit for this "
            f"{kind.name}"
        )
    if system is not None and system != kind.system:
        raise InvalidDrugCode(
            f"le système de codage ne correspond pas au {kind.name} / the coding system does "
            f"not match the {kind.name}"
        )
    return DrugCode(kind, compact)
