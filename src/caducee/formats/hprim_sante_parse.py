"""Read and validate HPRIM Santé 2.x messages (records H, P, OBR, OBX, C, A, L).

``A|`` lines continue the previous record: their text after ``A|`` is appended as is. One walk
records every problem; ``validate_hprim_sante`` returns them, ``parse_hprim_sante`` raises the
first error.
"""

from caducee.formats.errors import FormatError, InvalidDelimiters
from caducee.formats.hprim_model import read_decimal
from caducee.formats.hprim_sante_message import HPRIMSanteMessage, read_timestamp
from caducee.formats.hprim_sante_model import HPRIMSanteDelimiters, HPRIMSanteRecord
from caducee.formats.problems import Problem, ProblemList
from caducee.formats.text import to_text

__all__ = [
    "KNOWN_RECORDS",
    "MAX_LINE",
    "VALUE_TYPES",
    "parse_hprim_sante",
    "read_delimiters",
    "validate_hprim_sante",
]

#: The commonly cited maximum physical line length (longer records use ``A|`` lines).
MAX_LINE = 220
KNOWN_RECORDS = frozenset({"H", "P", "OBR", "OBX", "C", "L", "ADM", "REG", "ERR", "FAC", "ACT"})
VALUE_TYPES = frozenset({"NM", "ST", "CE", "TX", "FIC", "DT", "TS", "CK", "CN", "CS", "RP"})
STATUSES = frozenset({"", "F", "C", "P", "R", "I", "D", "X"})
SEXES = frozenset({"", "M", "F", "U"})
#: (record, field index, field name) holding ``AAAAMMJJ[HHMM[SS]]`` values.
_TIMESTAMPS = (("H", 13, "H.13"), ("P", 7, "P.7"), ("OBX", 14, "OBX.14"))


def read_delimiters(line: str) -> HPRIMSanteDelimiters:
    """Delimiters from an ``H`` line; ``InvalidDelimiters`` when unusable."""
    if len(line) < 5 or line[0] != "H":
        raise InvalidDelimiters("Enregistrement H absent / no H record", line=1, field="H")
    sep = line[1]
    end = line.find(sep, 2)
    enc = line[2:] if end == -1 else line[2:end]
    chars = sep + enc
    if len(enc) not in (3, 4) or len(set(chars)) != len(chars):
        raise InvalidDelimiters("Délimiteurs invalides / invalid delimiters", line=1, field="H.1")
    if any(c.isalnum() or c.isspace() for c in chars):
        raise InvalidDelimiters("Délimiteurs invalides / invalid delimiters", line=1, field="H.1")
    return HPRIMSanteDelimiters(sep, enc[0], enc[1], enc[2], enc[3] if len(enc) == 4 else "")


class _Walker:
    def __init__(self, text: str) -> None:
        self.lines = text.split("\n")
        self.problems = ProblemList()
        self.records: list[HPRIMSanteRecord] = []
        self.delimiters = HPRIMSanteDelimiters()

    def run(self) -> None:
        first = next((k for k, line in enumerate(self.lines) if line.strip()), None)
        if first is None:
            self.problems.error("missing-header-line", "Message vide / empty", 1, "H")
            return
        try:
            self.delimiters = read_delimiters(self.lines[first])
        except InvalidDelimiters as exc:
            exc.line = first + 1
            self.problems.add(exc)
            return
        self._records(first)
        self._structure()
        for r in self.records:
            self._check(r)

    def _records(self, first: int) -> None:
        sep = self.delimiters.field
        start, parts = 0, list[str]()  # the pending record: its line and its pieces
        for k in range(first, len(self.lines)):
            line = self.lines[k]
            if not line.strip():
                continue
            if len(line) > MAX_LINE:
                self.problems.warning(
                    "line-too-long", "Ligne trop longue / line too long", k + 1, None
                )
            if line.startswith("A" + sep):
                if not parts:
                    self.problems.error(
                        "malformed-record", "Suite sans enregistrement / orphan A", k + 1, "A"
                    )
                    continue
                parts.append(line[2:])
                continue
            if parts:
                self._record(start, "".join(parts))
            start, parts = k + 1, [line]
        if parts:
            self._record(start, "".join(parts))

    def _record(self, number: int, text: str) -> None:
        parts = text.split(self.delimiters.field)
        kind = parts[0]
        if not kind.isascii() or not kind.isalnum() or len(kind) > 3 or not kind[:1].isalpha():
            self.problems.error(
                "malformed-record",
                "Type d'enregistrement illisible / unreadable record type",
                number,
                None,
            )
            return
        if kind not in KNOWN_RECORDS:
            self.problems.warning(
                "unknown-record", "Enregistrement inconnu / unknown record", number, kind
            )
        self.records.append(HPRIMSanteRecord(kind, tuple(parts[1:]), number))

    def _structure(self) -> None:
        records = self.records
        if not records:
            return
        if records[-1].type != "L":
            self.problems.error(
                "truncated-document", "Enregistrement L absent / no L record", records[-1].line, "L"
            )
        seen_patient = seen_order = False
        for i, r in enumerate(records):
            if r.type == "H" and i > 0:
                self.problems.error("unexpected-content", "H en double / second H", r.line, "H")
            elif r.type == "L" and i != len(records) - 1:
                after = records[i + 1]
                self.problems.error(
                    "unexpected-content", "Contenu après L / after L", after.line, after.type
                )
            elif r.type == "P":
                seen_patient, seen_order = True, False
            elif r.type == "OBR":
                if not seen_patient:
                    self.problems.error(
                        "unexpected-content", "OBR sans P / OBR before any P", r.line, "OBR"
                    )
                seen_order = True
            elif r.type == "OBX" and not seen_order:
                self.problems.error(
                    "unexpected-content", "OBX sans OBR / OBX before any OBR", r.line, "OBX"
                )
        end = records[-1]
        if end.type == "L" and end.raw(3).strip():
            count = sum(1 for r in records if r.type == "P")
            if end.raw(3).strip() != str(count):
                self.problems.warning(
                    "count-mismatch", "Nombre de P discordant / P count mismatch", end.line, "L.3"
                )

    def _check(self, r: HPRIMSanteRecord) -> None:
        d = self.delimiters
        for kind, index, name in _TIMESTAMPS:
            if r.type == kind:
                try:
                    read_timestamp(r.raw(index).strip())
                except ValueError:
                    self.problems.error(
                        "invalid-date", "Date illisible / unreadable date", r.line, name
                    )
        if r.type == "P":
            if not r.component(5, d, 1).strip():
                self.problems.error("missing-field", "Nom absent / no name", r.line, "P.5")
            if r.component(8, d) not in SEXES:
                self.problems.warning("unknown-sex", "Sexe inconnu / unknown sex", r.line, "P.8")
        elif r.type == "OBX":
            if not r.raw(1).strip().isdigit():
                self.problems.warning(
                    "not-numeric", "Rang non numérique / sequence not a number", r.line, "OBX.1"
                )
            value_type = r.component(2, d)
            if value_type not in VALUE_TYPES:
                self.problems.warning(
                    "unknown-type", "Type de valeur inconnu / unknown value type", r.line, "OBX.2"
                )
            if not r.component(3, d, 1).strip():
                self.problems.error(
                    "missing-field", "Code d'analyse absent / no test code", r.line, "OBX.3"
                )
            value = r.component(5, d)
            if value_type == "NM" and value and read_decimal(value) is None:
                self.problems.warning(
                    "not-numeric", "Valeur non numérique / not a number", r.line, "OBX.5"
                )
            if r.component(11, d) not in STATUSES:
                self.problems.warning(
                    "unknown-status", "Statut inconnu / unknown status", r.line, "OBX.11"
                )


def _walk(data: bytes | str) -> _Walker:
    walker = _Walker(to_text(data))
    walker.run()
    return walker


def parse_hprim_sante(data: bytes | str) -> HPRIMSanteMessage:
    """One HPRIM Santé message; the first error raised as a ``FormatError``."""
    walker = _walk(data)
    walker.problems.raise_first()
    return HPRIMSanteMessage(walker.delimiters, tuple(walker.records))


def validate_hprim_sante(data: bytes | str) -> list[Problem]:
    """Every problem (errors and tolerated quirks as warnings), in file order."""
    try:
        walker = _walk(data)
    except FormatError as exc:
        return [Problem(exc.code, exc.reason, exc.line, exc.field)]
    return sorted(walker.problems.items, key=lambda p: p.line or 0)
