"""Prescription ids ``FFF.NNN.NNN.NNN.NNN.CC``: flow type, 12 digits, ISO 7064 MOD 97-10 check.

The shape is gematik's E-Rezept PrescriptionId. The two check digits make the 17 digits
congruent to 1 modulo 97 (ISO/IEC 7064 §5.3, the IBAN rule): a mistyped digit or two swapped
digits are caught when the number is keyed in from the paper copy.
"""

from __future__ import annotations

import re
import secrets

from caducee.prescriptions.errors import InvalidPrescriptionId

__all__ = [
    "FLOW_COMMUNITY",
    "format_prescription_id",
    "mod97_10_check",
    "new_prescription_id",
    "parse_prescription_id",
]

FLOW_COMMUNITY = "160"  # community pharmacy drugs (gematik's flow type for Muster 16)
_SHAPE = re.compile(r"\d{3}\.\d{3}\.\d{3}\.\d{3}\.\d{3}\.\d{2}")


def mod97_10_check(digits: str) -> str:
    """The two ISO 7064 MOD 97-10 check digits to append to ``digits``."""
    if not digits or not digits.isascii() or not digits.isdigit():
        raise InvalidPrescriptionId("chiffres attendus / digits expected")
    return f"{98 - (int(digits) * 100) % 97:02d}"


def format_prescription_id(digits17: str) -> str:
    return ".".join([digits17[i : i + 3] for i in range(0, 15, 3)] + [digits17[15:]])


def new_prescription_id(flow: str = FLOW_COMMUNITY, sequence: int | None = None) -> str:
    """A new id: ``flow`` (3 digits), a 12-digit number (random unless given), the check."""
    if len(flow) != 3 or not flow.isdigit():
        raise InvalidPrescriptionId("le type de flux a 3 chiffres / the flow type has 3 digits")
    number = secrets.randbelow(10**12) if sequence is None else sequence
    if not 0 <= number < 10**12:
        raise InvalidPrescriptionId("numéro hors limites / number out of range")
    body = f"{flow}{number:012d}"
    return format_prescription_id(body + mod97_10_check(body))


def parse_prescription_id(text: str) -> str:
    """The id in its dotted form, or ``InvalidPrescriptionId`` (shape, then check digits).

    Dots may be left out or replaced by spaces when keyed in by hand.
    """
    if not isinstance(text, str) or len(text) > 40:
        raise InvalidPrescriptionId("identifiant mal formé / malformed id")
    compact = re.sub(r"[\s.]", "", text)
    if len(compact) != 17 or not compact.isascii() or not compact.isdigit():
        raise InvalidPrescriptionId(
            "identifiant mal formé (FFF.NNN.NNN.NNN.NNN.CC) / malformed id (FFF.NNN.NNN.NNN.NNN.CC)"
        )
    if int(compact) % 97 != 1:
        raise InvalidPrescriptionId(
            "chiffres de contrôle incorrects / wrong check digits (ISO 7064 MOD 97-10)"
        )
    dotted = format_prescription_id(compact)
    assert _SHAPE.fullmatch(dotted)
    return dotted
