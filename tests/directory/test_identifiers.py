"""FINESS-like and RPPS-like numbers: length, digits, Luhn key (ISO/IEC 7812-1 Annex B)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caducee.directory import InvalidIdentifier, luhn_complete, parse_finess, parse_rpps
from caducee.directory.identifiers import is_luhn_valid, luhn_check_digit


def test_the_textbook_luhn_vector() -> None:
    # The example of ISO/IEC 7812-1 Annex B and of every Luhn description: 7992739871 → 3.
    assert luhn_check_digit("7992739871") == "3"
    assert is_luhn_valid("79927398713")
    assert not is_luhn_valid("79927398710")


def test_identifiers_are_checked_for_length_digits_and_key() -> None:
    finess = luhn_complete("75000001")
    rpps = luhn_complete("1000000001")
    assert parse_finess(f" {finess} ") == finess
    assert parse_rpps(rpps) == rpps
    wrong_key = finess[:-1] + str((int(finess[-1]) + 1) % 10)
    for bad in (wrong_key, finess[:-1], "7500000A1", "", "٧٥٠٠٠٠٠٠١"):
        with pytest.raises(InvalidIdentifier):
            parse_finess(bad)
    with pytest.raises(InvalidIdentifier):
        parse_rpps(finess)


@given(st.text(alphabet="0123456789", min_size=1, max_size=20), st.data())
def test_any_single_digit_change_breaks_the_key(payload: str, data: st.DataObject) -> None:
    number = luhn_complete(payload)
    assert is_luhn_valid(number)
    index = data.draw(st.integers(0, len(number) - 1))
    digit = data.draw(st.sampled_from([d for d in "0123456789" if d != number[index]]))
    assert not is_luhn_valid(number[:index] + digit + number[index + 1 :])
