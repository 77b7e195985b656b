"""Read and validate HPRIM médecin files (header lines 1-12, text, ``****LAB****``).

One walk records every problem with its line and field: ``validate_hprim`` returns them all,
``parse_hprim`` raises the first error. Tolerated quirks (padding, `` : `` in labels, trailing
empty fields, code-only ``RES`` lines, HTML text, CR/LF/CRLF) are warnings, not errors.
"""

import re
from datetime import date

from caducee.formats.errors import FormatError, InvalidNIR
from caducee.formats.hprim_model import (
    ABNORMAL_FLAGS,
    HEADER_FIELDS,
    RESULT_FIELDS,
    RESULT_TYPES,
    HPRIMDocument,
    HPRIMHeader,
    HPRIMLabLine,
    HPRIMResult,
    HPRIMText,
    is_decimal,
)
from caducee.formats.nir import parse_nir
from caducee.formats.problems import Problem, ProblemList
from caducee.formats.text import to_text

__all__ = ["FIN", "FINFICHIER", "LAB", "parse_date", "parse_hprim", "validate_hprim"]

LAB = "****LAB****"
FIN = "****FIN****"
FINFICHIER = "****FINFICHIER****"

_DMY_RE = re.compile(r"^([0-9]{1,2})[/.\-]([0-9]{1,2})[/.\-]([0-9]{4}|[0-9]{2})$")
_YMD_RE = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})$")
_COMPACT_RE = re.compile(r"^([0-9]{2})([0-9]{2})([0-9]{4})$")
_POSTCODE_RE = re.compile(r"^([0-9]{5}|2[AB][0-9]{3})(?:\s+(.*))?$")
_LABEL_TAIL_RE = re.compile(r"\s*:\s*$")


def parse_date(text: str, *, century_ref: int = 2000) -> tuple[date, bool]:
    """Read ``JJ/MM/AAAA``, ``JJ/MM/AA``, ``AAAA-MM-JJ`` or ``JJMMAAAA``.

    Returns the date and whether the year had two digits (read as the latest year not after
    ``century_ref``). Raises ``ValueError`` for anything else, or a day that does not exist.
    """
    text = text.strip()
    two_digits = False
    if match := _YMD_RE.match(text):
        year, month, day = int(match[1]), int(match[2]), int(match[3])
    elif match := _DMY_RE.match(text) or _COMPACT_RE.match(text):
        day, month, year = int(match[1]), int(match[2]), int(match[3])
        if len(match[3]) == 2:
            two_digits = True
            year += 2000 if 2000 + year <= century_ref else 1900
    else:
        raise ValueError("not a date")
    return date(year, month, day), two_digits


class _Walker:
    """One pass over the decoded lines of a file."""

    def __init__(self, text: str) -> None:
        self.lines = text.split("\n")
        if self.lines and self.lines[-1] == "":
            self.lines.pop()
        self.problems = ProblemList()
        self.documents: list[HPRIMDocument] = []

    def run(self) -> None:
        lines, i, n = self.lines, 0, len(self.lines)
        ended = False
        while i < n:
            stripped = lines[i].strip()
            if not stripped:
                i += 1
                continue
            if stripped == FINFICHIER:
                ended = True
                for k in range(i + 1, n):
                    if lines[k].strip():
                        self.problems.warning(
                            "unexpected-content",
                            "Contenu après ****FINFICHIER**** ignoré / content after the end",
                            k + 1,
                            None,
                        )
                        break
                break
            if stripped == FIN:
                self.problems.error(
                    "unexpected-content", "****FIN**** sans document / stray end", i + 1, None
                )
                i += 1
                continue
            i = self._document(i)
        if not self.documents and not self.problems.errors:
            self.problems.error(
                "missing-header-line", "Aucun document / no document", 1, HEADER_FIELDS[0]
            )
        elif not ended and not self.problems.errors:
            self.problems.warning(
                "truncated-document", "****FINFICHIER**** absent / missing end", n, FINFICHIER
            )

    def _document(self, start: int) -> int:
        """Read the document starting at ``start``; return the index after it."""
        lines, n = self.lines, len(self.lines)
        end = start
        while end < n and lines[end].strip() not in (FIN, FINFICHIER):
            end += 1
        if end - start < 12:
            missing = end - start
            self.problems.error(
                "missing-header-line",
                f"En-tête incomplet : {missing} lignes sur 12 / incomplete header",
                start + missing + 1,
                HEADER_FIELDS[missing],
            )
            return end + 1 if end < n and lines[end].strip() == FIN else end
        header = self._header(start)
        lab_at = next((k for k in range(start + 12, end) if lines[k].strip() == LAB), None)
        text_end = end if lab_at is None else lab_at
        text = "\n".join(lines[start + 12 : text_end])
        lab: list[HPRIMLabLine] = []
        if lab_at is not None:
            if lines[lab_at] != LAB:
                self.problems.warning(
                    "padded-marker", "****LAB**** décalé / shifted marker", lab_at + 1, LAB
                )
            lab = self._lab(lab_at + 1, end)
        if end >= n:
            self.problems.error(
                "truncated-document", "Document tronqué / truncated document", n, FIN
            )
        elif lines[end].strip() == FINFICHIER:
            self.problems.error(
                "truncated-document",
                "****FIN**** absent avant ****FINFICHIER**** / missing end of document",
                end + 1,
                FIN,
            )
        if header is not None:
            self.documents.append(HPRIMDocument(header, text, tuple(lab), lab_at is not None))
        return end + 1 if end < n and lines[end].strip() == FIN else end

    def _header(self, start: int) -> HPRIMHeader | None:
        raw = [self.lines[start + k].strip() for k in range(12)]
        before = len(self.problems.errors)
        for idx in (1, 2):
            if not raw[idx]:
                self.problems.error(
                    "missing-field",
                    "Champ obligatoire vide / required field empty",
                    start + idx + 1,
                    HEADER_FIELDS[idx],
                )
        exam = self._date(raw[9], start + 10, "exam_date", required=False, ref=2099)
        ref = exam.year if exam is not None else 2029
        birth = self._date(raw[6], start + 7, "birth_date", required=True, ref=ref)
        if birth is not None and exam is not None and birth > exam:
            self.problems.warning(
                "invalid-date",
                "Naissance après l'examen / birth after exam",
                start + 7,
                "birth_date",
            )
        nir = ""
        if raw[7]:
            try:
                nir_value = parse_nir(raw[7], line=start + 8)
                nir = nir_value.body + nir_value.key
                if (
                    birth is not None
                    and not nir_value.provisional
                    and (nir_value.birth_year_2 != birth.year % 100)
                ):
                    self.problems.warning(
                        "invalid-nir",
                        "Année du NIR discordante / NIR year mismatch",
                        start + 8,
                        "nir",
                    )
            except InvalidNIR as exc:
                self.problems.add(exc)
        postcode, city = "", raw[5]
        if raw[5]:
            if match := _POSTCODE_RE.match(raw[5]):
                postcode, city = match[1], (match[2] or "").strip()
            else:
                self.problems.warning(
                    "missing-field",
                    "Code postal illisible / unreadable postcode",
                    start + 6,
                    "postcode",
                )
        for idx, name in ((10, "sender"), (11, "recipient")):
            if not raw[idx]:
                self.problems.warning(
                    "missing-field", "Champ vide / empty field", start + idx + 1, name
                )
        if len(self.problems.errors) > before:
            return None
        return HPRIMHeader(
            raw[0], raw[1], raw[2], raw[3], raw[4], postcode, city, birth, nir, raw[8], exam,
            raw[10], raw[11],
        )  # fmt: skip

    def _date(self, text: str, line: int, name: str, *, required: bool, ref: int) -> date | None:
        if not text:
            if required:
                self.problems.error("missing-field", "Date absente / missing date", line, name)
            else:
                self.problems.warning("missing-field", "Date absente / missing date", line, name)
            return None
        try:
            value, two_digits = parse_date(text, century_ref=ref)
        except ValueError:
            self.problems.error("invalid-date", "Date illisible / unreadable date", line, name)
            return None
        if two_digits:
            self.problems.warning(
                "invalid-date", "Année sur deux chiffres / two-digit year", line, name
            )
        return value

    def _lab(self, start: int, end: int) -> list[HPRIMLabLine]:
        out: list[HPRIMLabLine] = []
        for k in range(start, end):
            line = self.lines[k]
            if not line.strip():
                continue
            if line == "TEX" or line.startswith("TEX|"):
                out.append(HPRIMText(line[4:]))
            elif line.startswith("RES|"):
                result = self._result(line, k + 1)
                if result is not None:
                    out.append(result)
            else:
                self.problems.warning(
                    "unexpected-content",
                    "Ligne ni TEX ni RES, gardée en texte / kept as text",
                    k + 1,
                    None,
                )
                out.append(HPRIMText(line))
        return out

    def _result(self, line: str, number: int) -> HPRIMResult | None:
        fields = line.split("|")[1:]
        if len(fields) > len(RESULT_FIELDS):
            extra = fields[len(RESULT_FIELDS) :]
            if any(f.strip() for f in extra):
                self.problems.error(
                    "malformed-result-line", "Trop de champs / too many fields", number, "RES"
                )
                return None
            self.problems.warning(
                "trailing-fields", "Champs vides en trop / extra empty fields", number, "RES"
            )
            fields = fields[: len(RESULT_FIELDS)]
        fields += [""] * (len(RESULT_FIELDS) - len(fields))
        label = _LABEL_TAIL_RE.sub("", fields[0]).strip()
        if label != fields[0]:
            self.problems.warning(
                "padded-label", "Libellé à rogner / padded label", number, "label"
            )
        values = [label] + [f.strip() for f in fields[1:]]
        result = HPRIMResult(*values)
        if not result.label and not result.code:
            self.problems.error(
                "malformed-result-line", "Ni libellé ni code / no label nor code", number, "code"
            )
            return None
        if result.type not in RESULT_TYPES:
            self.problems.warning(
                "unknown-type", "Type de résultat inconnu / unknown result type", number, "type"
            )
        if result.flag not in ABNORMAL_FLAGS:
            self.problems.warning(
                "unknown-flag", "Indicateur inconnu / unknown flag", number, "flag"
            )
        if result.type == "N":
            for name, raw in (("value", values[3]), ("low", values[5]), ("high", values[6])):
                if raw and not is_decimal(raw):
                    self.problems.warning(
                        "not-numeric", "Valeur non numérique / not a number", number, name
                    )
        return result


def _walk(data: bytes | str) -> _Walker:
    walker = _Walker(to_text(data))
    walker.run()
    return walker


def parse_hprim(data: bytes | str) -> list[HPRIMDocument]:
    """Every document of an HPRIM médecin file; the first error raised as a ``FormatError``."""
    walker = _walk(data)
    walker.problems.raise_first()
    return walker.documents


def validate_hprim(data: bytes | str) -> list[Problem]:
    """Every problem (errors and tolerated quirks as warnings), in file order."""
    try:
        walker = _walk(data)
    except FormatError as exc:
        return [Problem(exc.code, exc.reason, exc.line, exc.field)]
    return sorted(walker.problems.items, key=lambda p: p.line or 0)
