"""What a conversion must keep: identity and, for each result, code/label/value/unit/range/flag.

Numbers are compared as numbers where the target format stores numbers (FHIR: ``8,3`` comes
back as ``8.3``); everything else is compared as text.
"""

from dataclasses import dataclass
from pathlib import Path

from caducee.formats.hprim_model import HPRIMDocument, HPRIMResult, read_decimal

CORPUS = Path(__file__).parent / "corpus"
OK_HPRIM = sorted(CORPUS.glob("hprim_ok_*.hpr"))
OK_SANTE = sorted(CORPUS.glob("sante_ok_*.hpr"))


def _number(text: str, numeric: bool) -> str:
    value = read_decimal(text) if numeric else None
    if value is None:
        return text
    comparator = text.strip()[:2].rstrip("0123456789.,+- ")
    return comparator + format(value.normalize(), "f")


@dataclass(frozen=True)
class Kept:
    code: str
    label: str
    value: str
    unit: str
    low: str
    high: str
    flag: str
    second: tuple[str, ...]


def kept(r: HPRIMResult, *, numeric: bool = False) -> Kept:
    return Kept(
        " ".join(r.code.split()) if numeric else r.code,
        r.label,
        _number(r.value, numeric),
        r.unit,
        _number(r.low, numeric),
        _number(r.high, numeric),
        r.flag,
        (_number(r.value2, numeric), r.unit2, _number(r.low2, numeric), _number(r.high2, numeric)),
    )


def identity(doc: HPRIMDocument) -> tuple[object, ...]:
    h = doc.header
    return (h.last_name, h.first_name, h.birth_date, h.nir, h.patient_id)


def assert_same(a: HPRIMDocument, b: HPRIMDocument, *, numeric: bool = False) -> None:
    assert identity(a) == identity(b)
    assert [kept(r, numeric=numeric) for r in a.results] == [
        kept(r, numeric=numeric) for r in b.results
    ]
