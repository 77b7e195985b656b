"""The MSSanté subject convention: made, parsed back (property), displayed without prefix."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caducee.gateway.errors import HeaderError
from caducee.gateway.subject import display_subject, make_subject, parse_subject


def test_make_and_parse() -> None:
    subject = make_subject("CR de consultation", "Dupont", "Jean", date(1960, 2, 1))
    assert subject == "XDM/1.0/DDM+CR de consultation DUPONT Jean 01/02/1960"
    parsed = parse_subject(subject)
    assert parsed is not None
    assert (parsed.label, parsed.family_name, parsed.given_name) == (
        "CR de consultation",
        "DUPONT",
        "Jean",
    )
    assert parsed.birth_date == date(1960, 2, 1) and parsed.error_code is None
    assert display_subject(subject) == "CR de consultation DUPONT Jean 01/02/1960"


def test_ko_answer() -> None:
    subject = "[KO Intégration système !][902] XDM/1.0/DDM+CR DUPONT Jean 01/02/1960"
    parsed = parse_subject(subject)
    assert parsed is not None and parsed.error_code == "902"
    assert display_subject(subject) == "[KO Intégration système !][902] CR DUPONT Jean 01/02/1960"


@pytest.mark.parametrize(
    "subject",
    [
        "Bonjour",
        "XDM/1.0/DDM+",
        "XDM/1.0/DDM+CR DUPONT 01/02/1960",
        "XDM/1.0/DDM+CR A B 31/02/1960",
    ],
)
def test_not_the_convention(subject: str) -> None:
    assert parse_subject(subject) is None


def test_bad_parts_refused() -> None:
    with pytest.raises(HeaderError):
        make_subject("", "Dupont", "Jean", date(1960, 2, 1))
    assert "LE-GALL" in make_subject("CR", "Le Gall", "Anne Marie", date(1970, 1, 1))


letters = st.characters(min_codepoint=33, max_codepoint=0x24F, blacklist_categories=("Zs", "Cc"))
words = st.text(alphabet=letters, min_size=1, max_size=12)


@given(st.lists(words, min_size=1, max_size=4), words, words, st.dates())
def test_round_trip_property(label: list[str], family: str, given_name: str, born: date) -> None:
    subject = make_subject(" ".join(label), family, given_name, born)
    parsed = parse_subject(subject)
    assert parsed is not None
    assert parsed.label == " ".join(label)
    assert parsed.family_name == family.upper() and parsed.given_name == given_name
    assert parsed.birth_date == born
