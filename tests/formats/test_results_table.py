"""Rows of the agent UI's results table."""

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caducee.formats.hprim import HPRIMResult, parse_hprim
from caducee.formats.results_table import ResultRow, result_row, results_table
from tests.formats import synth
from tests.formats.equivalence import CORPUS


def test_rows_follow_the_document() -> None:
    rows = results_table(synth.document())
    assert rows == (
        ResultRow("GLY", "GLYCEMIE", "0.95", "g/l", "0,70", "1,10", "N", False),
        ResultRow("IGET 005", "IGET 005", "", "", "", "", "", False),
    )
    assert rows[0].range_text == "0,70 - 1,10" and rows[1].range_text == ""


@pytest.mark.parametrize(
    ("flag", "abnormal"), [("L", True), ("H", True), ("LL", True), ("HH", True), ("N", False)]
)
def test_lab_flag_decides(flag: str, abnormal: bool) -> None:
    row = result_row(HPRIMResult("K", "K", "N", "4.0", "mmol/l", "3.5", "5.0", flag))
    assert (row.abnormal, row.computed) == (abnormal, False)


@pytest.mark.parametrize(
    ("value", "low", "high", "abnormal"),
    [("8,3", "6,0", "11,0", False), ("5.9", "", "11", False), ("12", "6", "11", True),
     ("5", "6", "", True), ("<0.013", "0.1", "", False), ("POSITIF", "1", "2", False)],
)  # fmt: skip
def test_no_flag_computes_from_the_range(value: str, low: str, high: str, abnormal: bool) -> None:
    row = result_row(HPRIMResult("X", "X", "N", value, "", low, high))
    assert (row.abnormal, row.computed) == (abnormal, abnormal)


def test_range_text() -> None:
    base = ResultRow("c", "l", "1", "", "", "", "", False)
    assert replace(base, low="3").range_text == "≥ 3"
    assert replace(base, high="3").range_text == "≤ 3"


def test_corpus_flags_file() -> None:
    (doc,) = parse_hprim((CORPUS / "hprim_ok_flags.hpr").read_bytes())
    rows = results_table(doc)
    assert [r.abnormal for r in rows if r.flag] == [
        r.flag in {"L", "H", "LL", "HH"} for r in rows if r.flag
    ]


@settings(max_examples=100, deadline=None)
@given(st.decimals(-1000, 1000, places=2), st.decimals(-1000, 1000, places=2))
def test_computed_matches_numbers(value: object, bound: object) -> None:
    row = result_row(HPRIMResult("X", "X", "N", str(value), "", "", str(bound)))
    assert row.abnormal == (value > bound)  # type: ignore[operator]
