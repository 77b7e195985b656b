"""HPRIM Santé 2.x model: delimiters, raw records, and typed views of an ORU message.

Delimiters come from the ``H`` record, in HPRIM order: field, component, repetition, escape,
sub-component (``H|~^\\&|``: component ``~``, repetition ``^``, the reverse of HL7). Records
keep their raw (escaped) fields; the typed views hold unescaped values.
"""

from dataclasses import dataclass, field
from datetime import date

__all__ = [
    "HPRIMSanteDelimiters",
    "HPRIMSanteObservation",
    "HPRIMSanteOrder",
    "HPRIMSantePatient",
    "HPRIMSanteRecord",
    "escape",
    "unescape",
]


@dataclass(frozen=True)
class HPRIMSanteDelimiters:
    """The five separators; ``encoding`` is what follows ``H|`` in the header."""

    field: str = "|"
    component: str = "~"
    repetition: str = "^"
    escape: str = "\\"
    subcomponent: str = "&"

    @property
    def encoding(self) -> str:
        return self.component + self.repetition + self.escape + self.subcomponent

    def _codes(self) -> dict[str, str]:
        return {
            "F": self.field,
            "S": self.component,
            "R": self.repetition,
            "E": self.escape,
            "T": self.subcomponent,
        }


def escape(value: str, d: HPRIMSanteDelimiters) -> str:
    """Protect delimiter characters in a value with ``\\F\\``, ``\\S\\``, ``\\R\\``, ...."""
    out: list[str] = []
    reverse = {char: code for code, char in d._codes().items() if char}
    for ch in value:
        code = reverse.get(ch)
        out.append(f"{d.escape}{code}{d.escape}" if code else ch)
    return "".join(out)


def unescape(value: str, d: HPRIMSanteDelimiters) -> str:
    """Undo ``escape``; unknown sequences (``\\.br\\``, ``\\X0D\\``) are kept as written."""
    if d.escape not in value:
        return value
    codes = d._codes()
    out: list[str] = []
    i, n = 0, len(value)
    while i < n:
        ch = value[i]
        if ch == d.escape:
            end = value.find(d.escape, i + 1)
            if end != -1 and value[i + 1 : end] in codes:
                out.append(codes[value[i + 1 : end]])
                i = end + 1
                continue
        out.append(ch)
        i += 1
    return "".join(out)


@dataclass(frozen=True)
class HPRIMSanteRecord:
    """One logical record (continuations joined): its type and raw fields from field 1.

    ``line`` is where the record starts in the file (not part of equality).
    """

    type: str
    fields: tuple[str, ...]
    line: int = field(default=0, compare=False)

    def raw(self, index: int) -> str:
        """Raw field ``index`` (1-based, as the specification numbers them), or ``""``."""
        return self.fields[index - 1] if 0 < index <= len(self.fields) else ""

    def repetitions(self, index: int, d: HPRIMSanteDelimiters) -> list[list[str]]:
        """Field ``index`` as repetitions of unescaped components."""
        raw = self.raw(index)
        return [[unescape(c, d) for c in rep.split(d.component)] for rep in raw.split(d.repetition)]

    def component(self, index: int, d: HPRIMSanteDelimiters, comp: int = 1) -> str:
        """Component ``comp`` (1-based) of the first repetition of field ``index``."""
        comps = self.repetitions(index, d)[0]
        return comps[comp - 1] if comp <= len(comps) else ""

    def components(self, index: int, d: HPRIMSanteDelimiters) -> tuple[str, ...]:
        return tuple(self.repetitions(index, d)[0])


@dataclass(frozen=True)
class HPRIMSanteObservation:
    """An ``OBX``: one result. ``value_extra`` holds components 2+ of the value (``FIC``)."""

    code: str
    label: str
    value_type: str = "NM"
    value: str = ""
    unit: str = ""
    reference_range: str = ""
    flag: str = ""
    status: str = "F"
    timestamp: str = ""
    value_extra: tuple[str, ...] = ()
    comments: tuple[str, ...] = ()


@dataclass(frozen=True)
class HPRIMSanteOrder:
    """An ``OBR``: the tests requested on one sample, with their observations."""

    sample_id: str = ""
    tests: tuple[tuple[str, str], ...] = ()
    collected: str = ""
    observations: tuple[HPRIMSanteObservation, ...] = ()
    comments: tuple[str, ...] = ()


@dataclass(frozen=True)
class HPRIMSantePatient:
    """A ``P`` with its orders. ``birth_date`` is read from ``AAAAMMJJ``."""

    patient_id: str
    last_name: str
    first_name: str = ""
    birth_date: date | None = None
    sex: str = ""
    receiver_patient_id: str = ""
    maiden_name: str = ""
    orders: tuple[HPRIMSanteOrder, ...] = ()
    comments: tuple[str, ...] = ()
