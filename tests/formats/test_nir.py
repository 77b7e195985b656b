"""NIR keys (checked against python-stdnum, an independent implementation) and INS traits."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.fr import nir as stdnum_nir

from caducee.formats.errors import InvalidIdentity, InvalidNIR
from caducee.formats.nir import NIR, INSIdentity, compute_nir_key, parse_nir
from tests.formats.synth import make_nir

bodies = st.builds(
    lambda sex, yy, mm, dept, commune, order: (
        f"{sex}{yy:02d}{mm:02d}{dept}{commune:03d}{order:03d}"
    ),
    st.sampled_from("1278"),
    st.integers(0, 99),
    st.integers(1, 12),
    st.sampled_from(["01", "13", "2A", "2B", "59", "75", "95", "97", "99"]),
    st.integers(1, 999),
    st.integers(1, 999),
)


@given(bodies)
def test_key_agrees_with_stdnum(body: str) -> None:
    key = compute_nir_key(body)
    assert key == stdnum_nir.calc_check_digits(body)
    assert stdnum_nir.is_valid(body + key)
    parsed = parse_nir(f"{body} {key}")
    assert parsed.body == body and parsed.key == key


def test_corsica_counts_as_19_and_18() -> None:
    body_2a = "1840220004033"[:5] + "2A" + "004033"
    assert compute_nir_key(body_2a) == f"{97 - int(body_2a.replace('2A', '19')) % 97:02d}"
    body_2b = body_2a.replace("2A", "2B")
    assert compute_nir_key(body_2b) == f"{97 - int(body_2b.replace('2B', '18')) % 97:02d}"
    assert parse_nir(make_nir(1, 84, 2, "2b")).department == "2B"


def test_spaces_dots_and_dashes_are_ignored() -> None:
    value = make_nir()
    v = value
    spaced = f"{v[0]} {v[1:3]} {v[3:5]} {v[5:7]}.{v[7:10]}-{v[10:13]} {v[13:]}"
    assert parse_nir(spaced) == parse_nir(value)


def test_accessors() -> None:
    value = parse_nir(make_nir(2, 80, 5, "75"))
    assert isinstance(value, NIR)
    assert (value.sex, value.birth_year_2, value.birth_month, value.department) == (
        "F",
        80,
        5,
        "75",
    )
    assert str(value) == f"{value.body} {value.key}"
    assert parse_nir(make_nir(1, 80, 30)).birth_month is None  # unknown month
    assert parse_nir(make_nir(7, 80, 5)).provisional


@pytest.mark.parametrize(
    "text",
    [
        "",
        "123",
        "12345678901234567",
        "3800575056012 00",
        "1801375056012 00",
        "180057505601",
        "0800575056012 11",
    ],
)
def test_malformed(text: str) -> None:
    with pytest.raises(InvalidNIR) as info:
        parse_nir(text, line=8)
    assert (info.value.line, info.value.field) == (8, "nir")


def test_wrong_key_and_implausible_month() -> None:
    good = make_nir()
    wrong = good[:13] + f"{(int(good[13:]) % 97) + 1:02d}"
    with pytest.raises(InvalidNIR, match="key"):
        parse_nir(wrong)
    body = "1801575056012"  # month 15
    with pytest.raises(InvalidNIR, match="month"):
        parse_nir(body + compute_nir_key(body))
    body = "1800500056012"  # department 00
    with pytest.raises(InvalidNIR):
        parse_nir(body + compute_nir_key(body))


def test_ins_identity_valid_and_consistent_with_nir() -> None:
    nir = parse_nir(make_nir(2, 80, 5))
    ident = INSIdentity("FICTIF-ESSAI", ("ALICE", "MARIE"), "F", date(1980, 5, 17), "75111", nir)
    assert ident.first_name == "ALICE"
    INSIdentity("D'ECHANTILLON", ("JEAN PIERRE",), "M", date(1949, 12, 1), "2B033")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"birth_name": "Fictif"}, "birth_name"),
        ({"birth_name": "FICTÏF"}, "birth_name"),
        ({"birth_name": ""}, "birth_name"),
        ({"first_names": ()}, "first_names"),
        ({"first_names": ("ALICE2",)}, "first_names"),
        ({"sex": "X"}, "sex"),
        ({"birth_place": "7511"}, "birth_place"),
        ({"sex": "M"}, "sex"),
        ({"birth_date": date(1981, 5, 17)}, "birth_date"),
        ({"birth_date": date(1980, 6, 17)}, "birth_date"),
    ],
)
def test_ins_identity_rejects(changes: dict[str, object], field: str) -> None:
    values: dict[str, object] = {
        "birth_name": "FICTIF",
        "first_names": ("ALICE",),
        "sex": "F",
        "birth_date": date(1980, 5, 17),
        "birth_place": "75111",
        "nir": parse_nir(make_nir(2, 80, 5)),
    }
    values.update(changes)
    with pytest.raises(InvalidIdentity) as info:
        INSIdentity(**values)  # type: ignore[arg-type]
    assert info.value.field == field
