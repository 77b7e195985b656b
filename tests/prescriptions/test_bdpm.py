"""The BDPM reader (outside input): the shipped sample, stray rows, and a fuzz."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import ean

from caducee.prescriptions import read_bdpm, sample_bdpm
from caducee.prescriptions.errors import PrescriptionError


def test_sample_is_cp1252_tsv_with_valid_invented_codes() -> None:
    sample = sample_bdpm()
    assert len(sample.drugs) == 14 and sample.skipped == []
    for drug in sample.drugs:
        assert drug.cip13.startswith("34009") and ean.is_valid(drug.cip13)  # stdnum oracle
        assert len(drug.cis) == 8
    assert any("É" in d.label or "é" in d.label for d in sample.drugs)  # decoded from cp1252
    assert [d.marketed for d in sample.drugs].count(False) == 1


def test_bad_rows_are_reported_not_fatal() -> None:
    cis = "12345678\tMÉDICAMENT FICTIF\tcomprimé\torale\t\t\t\t\t\t\t LAB\tNon\r\n".encode("cp1252")
    cip = (
        b"12345678\t1\tboite\t\t\t\t3400939000053\r\n"
        b"\r\n"
        b"12345678\t1\tboite\t\t\t\t3400939000054\r\n"  # wrong key
        b"87654321\t1\tboite\t\t\t\t3400939000763\r\n"  # unknown CIS
        b"short\tline\r\n"
    )
    result = read_bdpm(cis, cip)
    assert [d.cip13 for d in result.drugs] == ["3400939000053"]
    assert [why for _, _, why in result.skipped] == [
        "invalid-drug-code",
        "unknown CIS",
        "2 columns, 7 expected",
    ]
    assert [line for _, line, _ in result.skipped] == [3, 4, 5]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400), st.binary(max_size=400))
def test_reader_never_crashes(cis: bytes, cip: bytes) -> None:
    try:
        result = read_bdpm(cis, cip)
    except PrescriptionError:
        return
    for drug in result.drugs:
        assert ean.is_valid(drug.cip13)
