"""HPRIM médecin: parse, validate, generate.

The ``test_freehealth_*`` tests re-express, on our own synthetic data, the facts that
FreeHealth's ``tst_hprim.cpp`` checks (no fixture copied): padded header lines are trimmed,
line 6 splits into postcode and city, the text starts at line 13, bare ``TEX`` and code-only
``RES`` lines count, a document without ``****FIN****`` is invalid, an empty or impossible
birth date makes the header invalid, and a generated header reads back to the same fields.
"""

from datetime import date
from decimal import Decimal

import pytest

from caducee.formats.errors import (
    FormatError,
    InvalidDate,
    MalformedResultLine,
    MissingField,
    MissingHeaderLine,
    TruncatedDocument,
    UnexpectedContent,
)
from caducee.formats.hprim import (
    HPRIMDocument,
    HPRIMResult,
    HPRIMText,
    Severity,
    parse_hprim,
    to_hprim,
    validate_hprim,
)
from tests.formats.synth import document, header, hprim_lines, join


def test_freehealth_padded_header_is_trimmed_and_split() -> None:
    lines = hprim_lines()
    lines[3] = lines[3].ljust(30)
    lines[5] = "62580 VILLE FICTIVE SUR ESSAI".ljust(36)
    lines[8] = "    506232"
    lines[10] = "         C LabFictif                  "
    lines[11] = "     FICFIC FIC.TIF                                        "
    (doc,) = parse_hprim(join(lines))
    h = doc.header
    assert h.address1 == "1 RUE DE L'ESSAI"
    assert (h.postcode, h.city) == ("62580", "VILLE FICTIVE SUR ESSAI")
    assert h.file_number == "506232"
    assert h.sender == "C LabFictif"
    assert h.recipient == "FICFIC FIC.TIF"
    assert h.sender_code == "C" and h.recipient_code == "FICFIC"


def test_freehealth_text_starts_at_line_13_and_lab_lines_count() -> None:
    lines = hprim_lines()
    lab = lines.index("****LAB****")
    lines[12:lab] = [" ", "                 ALLERGIE", "", "    IGE TOTALES   164  UI/ml", ""]
    lab = lines.index("****LAB****")
    lines[lab + 1 : lab + 3] = [
        "TEX", "TEX|                 ALLERGIE", "TEX",
        "RES|IGE TOTALES|IGET 000|N|164|UI/ml|0|3000|N|F", "TEX", "RES||IGET 005|A",
    ]  # fmt: skip
    (doc,) = parse_hprim(join(lines, "\n"))
    assert doc.text == " \n                 ALLERGIE\n\n    IGE TOTALES   164  UI/ml\n"
    assert len(doc.results) == 2
    assert doc.results[1] == HPRIMResult("", "IGET 005", "A")
    assert next(line.text for line in doc.lab if isinstance(line, HPRIMText)) == ""
    assert not [p for p in validate_hprim(join(lines)) if p.severity is Severity.ERROR]


def test_freehealth_document_without_fin_is_invalid() -> None:
    lines = [line for line in hprim_lines() if line != "****FIN****"]
    problems = validate_hprim(join(lines))
    assert [(p.code, p.field) for p in problems if p.severity is Severity.ERROR] == [
        ("truncated-document", "****FIN****")
    ]
    with pytest.raises(TruncatedDocument):
        parse_hprim(join(lines))


@pytest.mark.parametrize(
    ("dob", "error"), [("", MissingField), ("18/13/2009", InvalidDate), ("30/02/2001", InvalidDate)]
)
def test_freehealth_bad_birth_date_invalidates_the_header(
    dob: str, error: type[FormatError]
) -> None:
    lines = hprim_lines()
    lines[6] = dob
    with pytest.raises(error) as info:
        parse_hprim(join(lines))
    assert (info.value.line, info.value.field) == (7, "birth_date")


def test_freehealth_generated_header_reads_back() -> None:
    doc = HPRIMDocument(header(), "bla bla bla\nQQ\nlkjlsf lkj oqsdif&\"'ç!è", (), False)
    text = to_hprim(doc)
    assert text.splitlines()[6] == "17/05/1980"
    assert parse_hprim(text) == [doc]
    assert parse_hprim(text.encode("cp1252")) == [doc]


def test_reference_example_shape() -> None:
    (doc,) = parse_hprim(join(hprim_lines()))
    h = doc.header
    assert (h.last_name, h.first_name, h.birth_date, h.exam_date) == (
        "FICTIF", "ALICE", date(1980, 5, 17), date(2025, 1, 2)
    )  # fmt: skip
    assert len(h.nir) == 15
    (res,) = doc.results
    assert res.numeric_value == Decimal("0.95")
    assert (res.numeric_low, res.numeric_high) == (Decimal("0.70"), Decimal("1.10"))
    assert not res.abnormal
    assert doc.lab_text == "GLYCEMIE   0,95 g/l"


def test_second_unit_and_flags() -> None:
    lines = hprim_lines()
    at = lines.index("****LAB****") + 2
    lines[at] = "RES|CREATININE|CREA|N|8.3|mg/l|6.0|11.0|H|F|73.5|umol/l|53.1|97.4"
    (doc,) = parse_hprim(join(lines))
    res = doc.results[0]
    assert (res.value2, res.unit2, res.low2, res.high2) == ("73.5", "umol/l", "53.1", "97.4")
    assert res.abnormal and res.status == "F"


def test_html_text_is_kept_and_plain_text_is_offered() -> None:
    lines = hprim_lines()
    lines[12] = "Cr&eacute;atinine<br />normale&nbsp;: <b>OK</b>"
    (doc,) = parse_hprim(join(lines))
    assert "&eacute;" in doc.text
    assert doc.plain_text == "Créatinine\nnormale\xa0: OK"


def test_several_documents_and_line_numbers_of_the_second() -> None:
    one = hprim_lines()[:-1]
    two = hprim_lines()[:-1]
    two[9] = "99/99/2025"
    problems = validate_hprim(join([*one, *two, "****FINFICHIER****"]))
    errors = [p for p in problems if p.severity is Severity.ERROR]
    assert [(p.line, p.field) for p in errors] == [(len(one) + 10, "exam_date")]
    assert len(parse_hprim(join([*one, *one, "****FINFICHIER****"]))) == 2


def test_validator_reports_every_problem() -> None:
    lines = hprim_lines()
    lines[1] = ""
    lines[6] = "31/04/1980"
    lines[7] = "1234567890123 00"
    at = lines.index("****LAB****") + 2
    lines[at] = "RES|||N|1"
    lines.insert(at, "RES|  LABEL  : |C|Q|abc|u|||ZZ|F")
    got = {(p.line, p.field, p.severity) for p in validate_hprim(join(lines))}
    assert {(2, "last_name", Severity.ERROR), (7, "birth_date", Severity.ERROR),
            (8, "nir", Severity.ERROR), (at + 2, "code", Severity.ERROR),
            (at + 1, "label", Severity.WARNING), (at + 1, "type", Severity.WARNING),
            (at + 1, "flag", Severity.WARNING)} <= got  # fmt: skip


def test_problems_never_echo_patient_content() -> None:
    lines = hprim_lines()
    lines[6] = "NOTADATE-SECRET"
    for p in validate_hprim(join(lines)):
        assert "SECRET" not in p.message and "FICTIF" not in p.message


def test_short_header_and_empty_file() -> None:
    with pytest.raises(MissingHeaderLine) as info:
        parse_hprim(join([*hprim_lines()[:5], "****FIN****", "****FINFICHIER****"]))
    assert (info.value.line, info.value.field) == (6, "postcode_city")
    with pytest.raises(MissingHeaderLine):
        parse_hprim(b"\r\n\r\n")


def test_too_many_res_fields() -> None:
    lines = hprim_lines()
    at = lines.index("****LAB****") + 2
    lines[at] += "|||||x"
    with pytest.raises(MalformedResultLine) as info:
        parse_hprim(join(lines))
    assert (info.value.line, info.value.field) == (at + 1, "RES")


def test_generator_layout_and_refusals() -> None:
    text = to_hprim([document(), document()], newline="\n")
    assert text.count("****FIN****\n") == 2 and text.endswith("****FINFICHIER****\n")
    assert "RES||IGET 005|A\n" in text
    assert to_hprim(document()).endswith("\r\n")
    with pytest.raises(MissingField):
        to_hprim([])
    with pytest.raises(MissingField):
        to_hprim(HPRIMDocument(header(birth_date=None)))
    with pytest.raises(UnexpectedContent):
        to_hprim(HPRIMDocument(header(), "a\n****FIN****\nb"))
    with pytest.raises(UnexpectedContent):
        to_hprim(HPRIMDocument(header(), "", (HPRIMResult("A|B", "C"),), True))
    with pytest.raises(UnexpectedContent):
        to_hprim(HPRIMDocument(header(last_name="A\nB")))
    with pytest.raises(UnexpectedContent) as info:
        to_hprim(HPRIMDocument(header(recipient="****FIN****")))
    assert info.value.field == "recipient"


@pytest.mark.parametrize(
    ("text", "value"),
    [("8,3", "8.3"), (" 8.3 ", "8.3"), ("<0.013", "0.013"), ("> 100", "100"), (",5", "0.5"),
     ("-1,25", "-1.25"), ("abc", None), ("", None), ("1.2.3", None), ("1e5", None)],
)  # fmt: skip
def test_numeric_reading(text: str, value: str | None) -> None:
    from caducee.formats.hprim_model import read_decimal

    assert read_decimal(text) == (None if value is None else Decimal(value))
