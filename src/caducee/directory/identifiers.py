"""FINESS-like and RPPS-like identifiers: fixed digit counts ending in a Luhn key.

The real FINESS number has 9 digits and the RPPS number 11, each with a Luhn check digit
(ISO/IEC 7812-1 Annex B); test data uses synthetic numbers built with ``luhn_complete``.
"""

from __future__ import annotations

from caducee.directory.errors import InvalidIdentifier

__all__ = [
    "FINESS_LENGTH",
    "RPPS_LENGTH",
    "is_luhn_valid",
    "luhn_check_digit",
    "luhn_complete",
    "parse_finess",
    "parse_rpps",
]

FINESS_LENGTH = 9
RPPS_LENGTH = 11


def luhn_check_digit(payload: str) -> str:
    """The Luhn key to append to the digits ``payload``."""
    total = 0
    for index, char in enumerate(reversed(payload)):
        digit = int(char)
        if index % 2 == 0:  # doubled: the key will take position 0
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def is_luhn_valid(number: str) -> bool:
    """True when ``number`` (digits only) ends in its Luhn key."""
    if not number or not number.isascii() or not number.isdigit():
        return False
    return luhn_check_digit(number[:-1]) == number[-1]


def luhn_complete(payload: str) -> str:
    """``payload`` followed by its Luhn key (to make synthetic test identifiers)."""
    return payload + luhn_check_digit(payload)


def _parse(value: str, length: int, what: str) -> str:
    value = value.strip()
    if len(value) != length or not value.isascii() or not value.isdigit():
        raise InvalidIdentifier(f"a {what} number has {length} digits: {value!r}")
    if not is_luhn_valid(value):
        raise InvalidIdentifier(f"the {what} number {value} has a wrong Luhn key")
    return value


def parse_finess(value: str) -> str:
    """A checked FINESS-like number (9 digits, Luhn key last), or ``InvalidIdentifier``."""
    return _parse(value, FINESS_LENGTH, "FINESS")


def parse_rpps(value: str) -> str:
    """A checked RPPS-like number (11 digits, Luhn key last), or ``InvalidIdentifier``."""
    return _parse(value, RPPS_LENGTH, "RPPS")
