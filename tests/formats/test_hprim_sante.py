"""HPRIM Santé: delimiters from H, records, A| continuations, typed ORU views, generation.

The ``test_libhprim_*`` tests re-express, on our own synthetic message, the facts that
aiderpmsi/libHprim's ``HPRIMSParserTest.java`` checks (no fixture copied): ``~`` splits
components and ``^`` repetitions, an ``A|`` line is glued to the previous record with no
separator, ``OBX`` carries seq/type/code~label~L/value/unit/range/flag/status/timestamp,
a ``FIC`` value has components, ``C|1|L|text`` is a comment and ``L|1`` ends the message.
"""

from datetime import date

import pytest

from caducee.formats.errors import (
    InvalidDate,
    InvalidDelimiters,
    MalformedRecord,
    TruncatedDocument,
)
from caducee.formats.hprim_sante import (
    HPRIMSanteDelimiters,
    HPRIMSanteObservation,
    HPRIMSanteOrder,
    HPRIMSantePatient,
    build_oru,
    escape,
    parse_hprim_sante,
    read_delimiters,
    to_hprim_sante,
    unescape,
    validate_hprim_sante,
)
from caducee.formats.problems import Severity

MESSAGE = (
    "H|~^\\&|ESSAI1.HPR||LB01~LABO FICTIF||ORU|||CAB~CABINET TEST||P|H2.1~C|202401021530\r\n"
    "P|1|12|X0000001||MARTINOT~CLAIRE|DURAND|19800315|F||3 RUE IMAGINAIRE~~VILLEFICTIVE~~99999\r\n"
    "OBR|1|ECH01~|~E01|GLY~GLYCEMIE~L^CREA~CREATININE~L|S||202401020800^20240102||||N|||"
    "202401020815||DOC~DR FICTIF~L~SRV~Clini\r\n"
    "A|que Fictive~L|0100000000||||||||F\r\n"
    "OBX|1|NM|GLY~GLYCEMIE~L||5.2|mmol/l|4.1 - 5.9|N|||F|||202401021000|BIO~1\r\n"
    "C|1|L|A jeun\r\n"
    "OBX|2|FIC|TEXTE~~L||SYST~FIC0001.TXT~TXT\r\n"
    "L|1||1|7\r\n"
)


def test_libhprim_header_and_delimiters() -> None:
    m = parse_hprim_sante(MESSAGE)
    assert m.delimiters == HPRIMSanteDelimiters("|", "~", "^", "\\", "&")
    assert (m.message_id, m.message_type, m.version, m.processing_id) == (
        "ESSAI1.HPR", "ORU", "H2.1", "P"
    )  # fmt: skip
    assert m.sender == ("LB01", "LABO FICTIF")
    assert m.receiver == ("CAB", "CABINET TEST")
    assert m.timestamp == "202401021530"
    assert [r.type for r in m.records] == ["H", "P", "OBR", "OBX", "C", "OBX", "L"]


def test_libhprim_continuation_is_glued_without_separator() -> None:
    m = parse_hprim_sante(MESSAGE)
    obr = m.records[2]
    assert obr.repetitions(16, m.delimiters)[0] == [
        "DOC",
        "DR FICTIF",
        "L",
        "SRV",
        "Clinique Fictive",
        "L",
    ]
    assert obr.raw(17) == "0100000000"
    assert obr.raw(25) == "F"
    assert obr.line == 3 and m.records[3].line == 5


def test_libhprim_typed_views() -> None:
    (p,) = parse_hprim_sante(MESSAGE).patients
    assert (p.patient_id, p.receiver_patient_id, p.last_name, p.first_name) == (
        "12", "X0000001", "MARTINOT", "CLAIRE"
    )  # fmt: skip
    assert (p.maiden_name, p.birth_date, p.sex) == ("DURAND", date(1980, 3, 15), "F")
    (order,) = p.orders
    assert order.tests == (("GLY", "GLYCEMIE"), ("CREA", "CREATININE"))
    assert order.sample_id == "ECH01" and order.collected == "202401020800"
    first, fic = order.observations
    assert (first.code, first.label, first.value_type, first.value, first.unit) == (
        "GLY", "GLYCEMIE", "NM", "5.2", "mmol/l"
    )  # fmt: skip
    assert (first.reference_range, first.flag, first.status, first.timestamp) == (
        "4.1 - 5.9", "N", "F", "202401021000"
    )  # fmt: skip
    assert first.comments == ("A jeun",)
    assert (fic.value_type, fic.value, fic.value_extra) == ("FIC", "SYST", ("FIC0001.TXT", "TXT"))
    assert not validate_hprim_sante(MESSAGE)


def test_variant_delimiters_are_read_from_h() -> None:
    d = read_delimiters("H|\\^&~|X.HPR")
    assert (d.component, d.repetition, d.escape, d.subcomponent) == ("\\", "^", "&", "~")
    text = "H|\\^&~|X.HPR||LB\\LABO||ORU\rP|1|7|||NOM\\PRENOM||19991231|M\rL|1\r"
    (p,) = parse_hprim_sante(text).patients
    assert (p.last_name, p.first_name) == ("NOM", "PRENOM")


@pytest.mark.parametrize("line", ["P|1|2", "H", "H|~~\\&|", "H|~^|", "H|A^\\&|", "H|~^\\& |x"])
def test_bad_delimiters(line: str) -> None:
    with pytest.raises(InvalidDelimiters):
        read_delimiters(line)


def test_escape_round_trip() -> None:
    d = HPRIMSanteDelimiters()
    value = "a|b~c^d\\e&f"
    assert escape(value, d) == "a\\F\\b\\S\\c\\R\\d\\E\\e\\T\\f"
    assert unescape(escape(value, d), d) == value
    assert unescape("\\.br\\x\\", d) == "\\.br\\x\\"  # unknown sequences kept


def test_structure_errors() -> None:
    with pytest.raises(TruncatedDocument):
        parse_hprim_sante(MESSAGE.rsplit("L|", 1)[0])
    with pytest.raises(MalformedRecord):
        parse_hprim_sante("H|~^\\&|X\r\n1BAD|x\r\nL|1\r\n")
    with pytest.raises(InvalidDate) as info:
        parse_hprim_sante(MESSAGE.replace("202401021000", "202413021000"))
    assert (info.value.line, info.value.field) == (5, "OBX.14")


def test_warnings_for_tolerated_quirks() -> None:
    text = MESSAGE.replace("|5.2|", "|cinq|").replace("L|1||1|7", "L|1||3|7")
    text = text.replace("C|1|L|A jeun", "ZZ|1\r\nC|1|L|A jeun")
    got = {(p.code, p.field) for p in validate_hprim_sante(text)}
    assert {("not-numeric", "OBX.5"), ("count-mismatch", "L.3"), ("unknown-record", "ZZ")} <= got
    assert all(p.severity is Severity.WARNING for p in validate_hprim_sante(text))


def test_build_and_write_round_trip_with_long_lines() -> None:
    obs = HPRIMSanteObservation("K", "POTASSIUM | ~ ^ \\ &", "NM", "5,9", "mmol/l", "3.5-5.0", "H",
                                comments=("x" * 500,))  # fmt: skip
    patient = HPRIMSantePatient(
        "1001", "FICTIF", "ALICE", date(1971, 4, 3), "F",
        orders=(HPRIMSanteOrder("ECH1", (("K", "POTASSIUM"),), "202501020800", (obs,)),),
    )  # fmt: skip
    message = build_oru(
        [patient], sender=("LAB", "LABO"), receiver=("CAB",), timestamp="202501021200"
    )
    text = to_hprim_sante(message)
    assert all(len(line) <= 220 for line in text.split("\r\n"))
    assert "\r\nA|" in text
    again = parse_hprim_sante(text)
    assert again == message
    assert again.patients == (patient,)
    assert again.message_type == "ORU" and again.version == "H2.2"
    assert again.records[-1].fields == ("1", "", "1", str(len(message.records)))
