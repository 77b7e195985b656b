"""HPRIM → HL7 v2.5 ORU^R01 → HPRIM, read back with python-hl7 as an independent reader."""

import contextlib
import logging
from dataclasses import replace
from pathlib import Path

import hl7
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caducee.formats.convert import sante_documents
from caducee.formats.errors import (
    FormatError,
    InvalidNIR,
    MalformedMessage,
    MissingField,
    UnsupportedMessage,
)
from caducee.formats.hl7v2 import (
    INS_NIR_OID,
    format_range,
    hl7_escape,
    parse_hl7v2,
    split_range,
    to_hl7v2,
)
from caducee.formats.hprim import HPRIMDocument, HPRIMResult, HPRIMText, parse_hprim
from caducee.formats.hprim_sante import parse_hprim_sante
from tests.formats import synth
from tests.formats.equivalence import OK_HPRIM, OK_SANTE, assert_same
from tests.formats.test_properties import documents


@pytest.mark.parametrize("path", OK_HPRIM, ids=lambda p: p.name)
def test_corpus_round_trip(path: Path) -> None:
    docs = parse_hprim(path.read_bytes())
    back = parse_hl7v2(to_hl7v2(docs))
    assert len(back) == len(docs)
    for a, b in zip(docs, back, strict=True):
        assert_same(a, b)
        assert a.header == b.header
        assert (a.text, a.lab_text) == (b.text, b.lab_text)
        assert [r.fields()[9:] for r in a.results] == [r.fields()[9:] for r in b.results]


@pytest.mark.parametrize("path", OK_SANTE, ids=lambda p: p.name)
def test_hprim_sante_round_trip(path: Path) -> None:
    docs = sante_documents(parse_hprim_sante(path.read_bytes()))
    back = parse_hl7v2(to_hl7v2(docs))
    for a, b in zip(docs, back, strict=True):
        assert_same(a, b)


def test_segments_read_by_python_hl7() -> None:
    doc = synth.document()
    message = hl7.parse(to_hl7v2(doc))
    msh = message.segment("MSH")
    assert str(msh[9]) == "ORU^R01^ORU_R01" and str(msh[12]) == "2.5"
    pid = message.segment("PID")
    nir = pid[3][1]
    assert str(nir[0]) == doc.header.nir and str(nir[4]) == "NH"
    assert str(nir[3]) == f"ASIP-SANTE-INS-NIR&{INS_NIR_OID}&ISO"
    assert str(pid[5]) == "FICTIF^ALICE" and str(pid[7]) == "19800517"
    assert str(pid[8]) == "F"  # from the NIR's first digit
    obx = message.segments("OBX")
    assert [str(o[2]) for o in obx] == ["NM", "ST"]
    assert str(obx[0][3]) == "GLY^GLYCEMIE^L"
    assert (str(obx[0][5]), str(obx[0][6]), str(obx[0][7])) == ("0.95", "g/l", "0,70-1,10")
    assert str(obx[0][8]) == "N" and str(obx[0][11]) == "F"
    ntes = [str(n[3]) if len(n) > 3 else "" for n in message.segments("NTE")]
    assert ntes == ["Compte rendu fictif", "", "Fin.", "GLYCEMIE   0,95 g/l"]


@pytest.mark.parametrize("flag", ["L", "H", "LL", "HH", "N", ""])
def test_flags(flag: str) -> None:
    doc = replace(synth.document(), lab=(HPRIMResult("K", "K", "N", "5.9", "mmol/l", flag=flag),))
    assert parse_hl7v2(to_hl7v2(doc))[0].results[0].flag == flag


def test_value_types() -> None:
    lab = (
        HPRIMResult("A", "A", "N", "8.3"),
        HPRIMResult("B", "B", "N", "<0.013"),
        HPRIMResult("C", "C", "A", "x" * 250),
    )
    message = hl7.parse(to_hl7v2(replace(synth.document(), lab=lab)))
    assert [str(o[2]) for o in message.segments("OBX")] == ["NM", "ST", "TX"]


def test_escape_sequences() -> None:
    nasty = "a|b^c&d~e\\f"
    lab = (HPRIMResult(nasty, "X&Y", "A", "1^2", "u|v"), HPRIMText("t~x\\y"))
    text = to_hl7v2(replace(synth.document(), lab=lab))
    for seq in ("\\F\\", "\\S\\", "\\T\\", "\\R\\", "\\E\\"):
        assert seq in text
    assert hl7_escape(nasty) == "a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f"
    back = parse_hl7v2(text)[0]
    assert back.results[0].label == nasty and back.results[0].code == "X&Y"
    assert (back.results[0].value, back.results[0].unit) == ("1^2", "u|v")
    assert back.lab_text == "t~x\\y"


def test_second_unit_is_a_sub_id_2_obx() -> None:
    result = HPRIMResult("CREA", "CREA", "N", "8.3", "mg/l", "6", "11", "N", "F",
                         "73.5", "umol/l", "53.1", "97.4")  # fmt: skip
    text = to_hl7v2(replace(synth.document(), lab=(result,)))
    assert [str(o[4]) for o in hl7.parse(text).segments("OBX")] == ["1", "2"]
    assert parse_hl7v2(text)[0].results == (result,)


def test_ranges() -> None:
    assert format_range("", "") == "" and split_range("") == ("", "")
    for low, high in [("1", "5"), ("", "5"), ("1", ""), ("-5", "5"), ("0,7", "1,1")]:
        assert split_range(format_range(low, high)) == (low, high)
    assert split_range("10 - 40") == ("10", "40")


def test_not_oru_is_refused() -> None:
    adt = "MSH|^~\\&|A||B||20250101||ADT^A01|1|P|2.5\rPID|1||1^^^LAB^PI||X^Y\r"
    with pytest.raises(UnsupportedMessage) as info:
        parse_hl7v2(adt)
    assert info.value.field == "MSH-9"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", MalformedMessage),
        ("PID|1", MalformedMessage),
        ("MSH|^~\\&|A||B||2025||ORU^R01|1|P|2.5\r", MissingField),
        ("MSH|^~\\&|A||B||2025||ORU^R01|1|P|2.5\rOBX|1|NM|A||1\r", MalformedMessage),
        ("MSH|^~\\&|A||B||2025||ORU^R01|1|P|2.5\rPID|1||1^^^L^PI||^X\r", MissingField),
        ("MSH|^~\\&|A||B||2025||ORU^R01|1|P|2.5\rPID|1||123^^^A^NH||X^Y\r", InvalidNIR),
    ],
)
def test_bad_messages(text: str, error: type[FormatError]) -> None:
    with pytest.raises(error):
        parse_hl7v2(text.encode())


def test_error_messages_do_not_echo_names() -> None:
    doc = replace(synth.document(), header=synth.header(birth_date=None))
    text = to_hl7v2(doc).replace("OBR|1||D25000001|HPRIM^Compte rendu de biologie^L|||20250102",
                                 "OBR|1||D25000001||||20251399")  # fmt: skip
    with pytest.raises(FormatError) as info:
        parse_hl7v2(text)
    assert "FICTIF" not in str(info.value) and "ALICE" not in str(info.value)


RANGE_FIELDS = ("low", "high", "low2", "high2")


@st.composite
def same_lab_documents(draw: st.DrawFn) -> list[HPRIMDocument]:
    docs = draw(st.lists(documents(), min_size=1, max_size=3))
    first = docs[0].header
    out = []
    for doc in docs:
        lab = tuple(
            item if isinstance(item, HPRIMText) else replace(item, **{
                k: getattr(item, k).replace("-", "").strip() for k in RANGE_FIELDS
            })
            for item in doc.lab
        )  # fmt: skip
        header = replace(doc.header, sender=first.sender, recipient=first.recipient)
        out.append(replace(doc, header=header, lab=lab))
    return out


@settings(max_examples=60, deadline=None)
@given(same_lab_documents())
def test_generated_round_trip(docs: list[HPRIMDocument]) -> None:
    back = parse_hl7v2(to_hl7v2(docs))
    assert len(back) == len(docs)
    for a, b in zip(docs, back, strict=True):
        assert a.header == b.header
        assert (a.text, a.lab_text) == (b.text, b.lab_text)
        norm = [replace(r, type="", status=r.status or "F") for r in a.results]
        assert norm == [replace(r, type="") for r in b.results]


VALID = to_hl7v2(synth.document())


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300).map(lambda t: ("MSH|^~\\&|" + t).encode()))
def test_fuzz_random(data: bytes) -> None:
    with contextlib.suppress(FormatError):
        parse_hl7v2(data)


def test_python_hl7_logs_no_content(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    text = VALID.replace("FICTIF^ALICE", "FICTIF\\ZZ\\\\^ALICE")
    with contextlib.suppress(FormatError):
        parse_hl7v2(text)
    assert "FICTIF" not in caplog.text


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@settings(max_examples=300, deadline=None)
@given(st.data())
def test_fuzz_mutated(data: st.DataObject) -> None:
    text = VALID
    for _ in range(data.draw(st.integers(1, 6))):
        at = data.draw(st.integers(0, len(text)))
        junk = data.draw(st.sampled_from(["|", "^", "~", "\\", "&", "\r", "X", "", "MSH|"]))
        cut = data.draw(st.integers(0, 5))
        text = text[:at] + junk + text[at + cut :]
    with contextlib.suppress(FormatError):
        parse_hl7v2(text)
