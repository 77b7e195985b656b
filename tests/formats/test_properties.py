"""Round trips with hypothesis: generate → parse → generate → parse gives the same documents."""

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from caducee.formats.hprim import (
    HPRIMDocument,
    HPRIMHeader,
    HPRIMResult,
    HPRIMText,
    parse_hprim,
    to_hprim,
)
from caducee.formats.hprim_sante import (
    HPRIMSanteObservation,
    HPRIMSanteOrder,
    HPRIMSantePatient,
    build_oru,
    parse_hprim_sante,
    to_hprim_sante,
)
from caducee.formats.nir import compute_nir_key

# Printable Latin-1 text (what ISO-8859-1 practice software can carry), no line breaks.
CHARS = st.sampled_from([chr(c) for c in range(0x20, 0x100) if not 0x7F <= c < 0xA0])
MARKERS = {"****LAB****", "****FIN****", "****FINFICHIER****"}


def _field(pipes: bool = True) -> st.SearchStrategy[str]:
    base = st.text(CHARS, max_size=12).map(str.strip).filter(lambda s: s not in MARKERS)
    return base if pipes else base.filter(lambda s: "|" not in s)


def _nonempty() -> st.SearchStrategy[str]:
    return _field().filter(bool)


nirs = st.builds(
    lambda sex, yy, mm, dept, rest: (lambda b: b + compute_nir_key(b))(
        f"{sex}{yy:02d}{mm:02d}{dept}{rest:06d}"
    ),
    st.sampled_from("12"),
    st.integers(0, 99),
    st.integers(1, 12),
    st.sampled_from(["01", "2A", "2B", "75", "99"]),
    st.integers(0, 999999),
)
dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31))
headers = st.builds(
    HPRIMHeader,
    patient_id=_nonempty(),
    last_name=_nonempty(),
    first_name=_nonempty(),
    address1=_field(),
    address2=_field(),
    postcode=st.one_of(st.just(""), st.from_regex(r"\A([0-9]{5}|2[AB][0-9]{3})\Z")),
    city=_field().filter(lambda s: not s[:5].isdigit() and not s.startswith(("2A", "2B"))),
    birth_date=dates,
    nir=st.one_of(st.just(""), nirs),
    file_number=_field(),
    exam_date=st.one_of(st.none(), dates),
    sender=_field(),
    recipient=_field(),
)
labels = _field(pipes=False).filter(lambda s: not s.endswith(":"))
results = st.builds(HPRIMResult, labels, *[_field(pipes=False) for _ in range(12)]).filter(
    lambda r: bool(r.label or r.code)
)
texts = st.builds(HPRIMText, st.text(CHARS, max_size=30))
body_lines = st.text(CHARS, max_size=30).filter(lambda s: s.strip() not in MARKERS)


@st.composite
def documents(draw: st.DrawFn) -> HPRIMDocument:
    lab = tuple(draw(st.lists(st.one_of(results, texts), max_size=6)))
    text = "\n".join(draw(st.lists(body_lines, max_size=5)))
    has_lab = bool(lab) or draw(st.booleans())
    return HPRIMDocument(draw(headers), text, lab, has_lab)


@settings(max_examples=100, deadline=None)
@given(st.lists(documents(), min_size=1, max_size=3), st.sampled_from(["\r\n", "\n", "\r"]))
def test_hprim_round_trip(docs: list[HPRIMDocument], newline: str) -> None:
    text = to_hprim(docs, newline=newline)
    parsed = parse_hprim(text.encode("utf-8"))
    assert parsed == docs
    assert to_hprim(parsed, newline=newline) == text


sante_text = st.text(CHARS, max_size=15)
observations = st.builds(
    HPRIMSanteObservation,
    code=sante_text.filter(lambda s: bool(s.strip())),
    label=sante_text,
    value_type=st.sampled_from(["NM", "ST", "TX", "CE"]),
    value=sante_text,
    unit=sante_text,
    reference_range=sante_text,
    flag=st.sampled_from(["", "N", "H", "L"]),
    status=st.sampled_from(["F", "C", ""]),
    timestamp=st.from_regex(
        r"\A(20[0-9][0-9](0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])(0[0-9]|1[0-9]|2[0-3])[0-5][0-9])?\Z"
    ),
    value_extra=st.lists(sante_text, max_size=2).map(tuple).filter(lambda t: not t or t[-1] != ""),
    comments=st.lists(sante_text, max_size=2).map(tuple),
)
orders = st.builds(
    HPRIMSanteOrder,
    sample_id=sante_text,
    tests=st.lists(st.tuples(sante_text, sante_text), max_size=3)
    .map(tuple)
    .filter(lambda t: t != (("", ""),)),
    collected=st.from_regex(r"\A(20[0-9][0-9]0[1-9]1[0-9])?\Z"),
    observations=st.lists(observations, max_size=3).map(tuple),
    comments=st.lists(sante_text, max_size=1).map(tuple),
)
patients = st.builds(
    HPRIMSantePatient,
    patient_id=sante_text,
    last_name=sante_text.filter(lambda s: bool(s.strip())),
    first_name=sante_text,
    birth_date=st.one_of(st.none(), dates),
    sex=st.sampled_from(["", "M", "F", "U"]),
    receiver_patient_id=sante_text,
    maiden_name=sante_text,
    orders=st.lists(orders, max_size=2).map(tuple),
    comments=st.lists(sante_text, max_size=1).map(tuple),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(patients, min_size=1, max_size=3), st.sampled_from([60, 220]))
def test_hprim_sante_round_trip(people: list[HPRIMSantePatient], max_line: int) -> None:
    message = build_oru(people, sender=("LAB", "LABO"), receiver=("CAB",), timestamp="202501021200")
    text = to_hprim_sante(message, max_line=max_line)
    parsed = parse_hprim_sante(text.encode("utf-8"))
    assert parsed == message
    assert parsed.patients == tuple(people)
    assert to_hprim_sante(parsed, max_line=max_line) == text
