"""Read and validate HPRIM Santé 2.x messages (records H, P, OBR, OBX, C, A, L).

``A|`` lines continue the previous record: their text after ``A|`` is appended as is. One walk
records every problem; ``validate_hprim_sante`` returns them, ``parse_hprim_sante`` raises the
first error.
"""

import re
from dataclasses import dataclass
from datetime import date

from caducee.formats.errors import FormatError
from caducee.formats.hprim_model import read_decimal
from caducee.formats.hprim_sante_model import (
    HPRIMSanteDelimiters,
    HPRIMSanteObservation,
    HPRIMSanteOrder,
    HPRIMSantePatient,
    HPRIMSanteRecord,
)
from caducee.formats.problems import Problem, ProblemList
from caducee.formats.text import to_text

__all__ = [
    "MAX_LINE",
    "HPRIMSanteMessage",
    "parse_hprim_sante",
    "read_delimiters",
    "validate_hprim_sante",
]

#: The commonly cited maximum physical line length (continuations beyond it).
MAX_LINE = 220
KNOWN_RECORDS = frozenset({"H", "P", "OBR", "OBX", "C", "L", "ADM", "REG", "ERR", "FAC", "ACT"})
VALUE_TYPES = frozenset({"NM", "ST", "CE", "TX", "FIC", "DT", "TS", "CK", "CN", "CS", "RP"})
_TYPE_RE = re.compile(r"^[A-Z][A-Z0-9]{0,2}$")
_TS_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?$")


def read_delimiters(line: str) -> HPRIMSanteDelimiters:
    """Delimiters from an ``H`` line; ``InvalidDelimiters`` when unusable."""
    from caducee.formats.errors import InvalidDelimiters

    if len(line) < 5 or line[0] != "H":
        raise InvalidDelimiters("Enregistrement H absent / no H record", line=1, field="H")
    sep = line[1]
    end = line.find(sep, 2)
    enc = line[2:] if end == -1 else line[2:end]
    chars = sep + enc
    if len(enc) not in (3, 4) or len(set(chars)) != len(chars):
        raise InvalidDelimiters("Délimiteurs invalides", line=1, field="H.1")
    if any(c.isalnum() or c.isspace() for c in chars):
        raise InvalidDelimiters("Délimiteurs invalides", line=1, field="H.1")
    return HPRIMSanteDelimiters(sep, enc[0], enc[1], enc[2], enc[3] if len(enc) == 4 else "")


def _timestamp(value: str) -> date | None:
    """``AAAAMMJJ[HHMM[SS]]`` → its date; ``None`` if empty; ``ValueError`` if wrong."""
    if not value:
        return None
    match = _TS_RE.match(value)
    if match is None:
        raise ValueError("not a timestamp")
    if match[4] is not None and (int(match[4]) > 23 or int(match[5]) > 59):
        raise ValueError("not a time")
    return date(int(match[1]), int(match[2]), int(match[3]))


@dataclass(frozen=True)
class HPRIMSanteMessage:
    """A parsed message: its delimiters and records; typed views as properties."""

    delimiters: HPRIMSanteDelimiters
    records: tuple[HPRIMSanteRecord, ...]

    @property
    def header(self) -> HPRIMSanteRecord:
        return self.records[0]

    @property
    def message_type(self) -> str:
        return self.header.component(6, self.delimiters)

    @property
    def sender(self) -> tuple[str, ...]:
        return self.header.components(4, self.delimiters)

    @property
    def receiver(self) -> tuple[str, ...]:
        return self.header.components(9, self.delimiters)

    @property
    def version(self) -> str:
        return self.header.component(12, self.delimiters)

    @property
    def timestamp(self) -> str:
        return self.header.raw(13)

    @property
    def patients(self) -> tuple[HPRIMSantePatient, ...]:
        return _views(self)


def _observation(r: HPRIMSanteRecord, d: HPRIMSanteDelimiters) -> HPRIMSanteObservation:
    value = r.components(5, d)
    return HPRIMSanteObservation(
        code=r.component(3, d, 1),
        label=r.component(3, d, 2),
        value_type=r.component(2, d),
        value=value[0],
        unit=r.component(6, d),
        reference_range=r.component(7, d),
        flag=r.component(8, d),
        status=r.component(11, d),
        timestamp=r.raw(14),
        value_extra=value[1:],
    )


def _views(message: HPRIMSanteMessage) -> tuple[HPRIMSantePatient, ...]:
    """Group records: P owns the following OBR, OBR the following OBX, C the previous one."""
    d = message.delimiters
    patients: list[dict[str, object]] = []
    for r in message.records:
        if r.type == "P":
            try:
                birth = _timestamp(r.raw(7))
            except ValueError:
                birth = None
            patients.append(
                {
                    "patient_id": r.component(2, d),
                    "receiver_patient_id": r.component(3, d),
                    "last_name": r.component(5, d, 1),
                    "first_name": r.component(5, d, 2),
                    "maiden_name": r.component(6, d),
                    "birth_date": birth,
                    "sex": r.component(8, d),
                    "orders": [],
                    "comments": [],
                }
            )
        elif not patients:
            continue
        elif r.type == "OBR":
            tests = tuple((rep[0], rep[1] if len(rep) > 1 else "") for rep in r.repetitions(4, d))
            order = {"sample_id": r.component(2, d), "collected": r.raw(7), "tests": tests}
            patients[-1]["orders"].append([order, [], []])  # type: ignore[attr-defined]
        elif r.type == "OBX" and patients[-1]["orders"]:
            obs = [_observation(r, d), []]
            patients[-1]["orders"][-1][1].append(obs)  # type: ignore[index]
        elif r.type == "C":
            text = r.component(3, d)
            orders = patients[-1]["orders"]
            if orders and orders[-1][1]:  # type: ignore[index]
                orders[-1][1][-1][1].append(text)  # type: ignore[index]
            elif orders:
                orders[-1][2].append(text)  # type: ignore[index]
            else:
                patients[-1]["comments"].append(text)  # type: ignore[attr-defined]
    out = []
    for p in patients:
        orders = tuple(
            HPRIMSanteOrder(
                sample_id=o["sample_id"],
                tests=o["tests"],
                collected=o["collected"],
                observations=tuple(
                    HPRIMSanteObservation(**{**vars(ob), "comments": tuple(cs)}) for ob, cs in obs
                ),
                comments=tuple(cs),
            )
            for o, obs, cs in p["orders"]  # type: ignore[attr-defined]
        )
        out.append(
            HPRIMSantePatient(**{**p, "orders": orders, "comments": tuple(p["comments"])})  # type: ignore[arg-type]
        )
    return tuple(out)
