"""Match a received document to a patient of the practice, or say why it cannot.

EXACT: the NIR is equal (valid key) for one patient only, or last name (or birth name), first
name and birth date are equal after normalisation for one patient only, with no near twin.
UNCERTAIN: anything close (same birth date and a similar name, same names and another birth
date, two candidates): it goes to the "to match" queue and is never assigned automatically.
NONE: nobody comes close. The practice's list is a CSV export read by :func:`parse_patient_list`.
"""

import csv
import io
import unicodedata
from dataclasses import dataclass
from datetime import date
from difflib import SequenceMatcher
from enum import StrEnum

from caducee.formats.errors import FormatError
from caducee.formats.hprim_model import HPRIMHeader
from caducee.formats.hprim_parse import parse_date
from caducee.formats.nir import parse_nir
from caducee.formats.text import decode_text
from caducee.policy.errors import InvalidPatientList

__all__ = [
    "Candidate",
    "MatchResult",
    "MatchStatus",
    "PatientQuery",
    "PracticePatient",
    "match_patient",
    "normalise_name",
    "parse_patient_list",
]

SIMILAR = 0.8  # SequenceMatcher ratio above which two normalised names are "similar"


def normalise_name(text: str) -> str:
    """Upper case, no accents, hyphens and apostrophes as spaces, single spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    plain = plain.replace("Œ", "OE").replace("œ", "oe").replace("Æ", "AE").replace("æ", "ae")
    cleaned = "".join(c if c.isalnum() else " " for c in plain.upper())
    return " ".join(cleaned.split())


def _nir(text: str) -> str:
    """The compact NIR if its shape and key are valid, else ``""``."""
    compact = "".join(text.split())
    if not compact:
        return ""
    try:
        value = parse_nir(compact)
    except FormatError:
        return ""
    return value.body + value.key


@dataclass(frozen=True)
class PracticePatient:
    """One row of the practice's list; ``nir`` is compact and valid, or empty."""

    patient_id: str
    last_name: str
    first_names: str
    birth_date: date | None = None
    nir: str = ""
    birth_name: str = ""


@dataclass(frozen=True)
class PatientQuery:
    """The identity a document carries."""

    last_name: str
    first_name: str
    birth_date: date | None = None
    nir: str = ""

    @classmethod
    def from_header(cls, header: HPRIMHeader) -> "PatientQuery":
        return cls(header.last_name, header.first_name, header.birth_date, header.nir)


class MatchStatus(StrEnum):
    EXACT = "exact"
    UNCERTAIN = "uncertain"
    NONE = "none"


@dataclass(frozen=True)
class Candidate:
    patient_id: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class MatchResult:
    """``patient_id`` is set only when ``status`` is EXACT; ``reason`` is a stable code."""

    status: MatchStatus
    patient_id: str | None
    candidates: tuple[Candidate, ...]
    reason: str


# -- the CSV ---------------------------------------------------------------------------------

_COLUMNS: dict[str, frozenset[str]] = {
    "patient_id": frozenset({"id", "identifiant", "patientid", "numero", "num", "dossier",
                             "ndossier", "numerodossier", "ipp"}),
    "last_name": frozenset({"nom", "nomdusage", "nomusage", "lastname", "nomdefamille",
                            "family", "familyname"}),
    "first_names": frozenset({"prenom", "prenoms", "firstname", "firstnames", "given"}),
    "birth_date": frozenset({"datedenaissance", "naissance", "ddn", "datenaissance",
                             "birthdate", "dob", "nele", "nea"}),
    "nir": frozenset({"nir", "numerosecu", "secu", "ins", "nss", "numerosecuritesociale",
                      "insnir", "matriculeins"}),
    "birth_name": frozenset({"nomdenaissance", "nomnaissance", "nomdejeunefille",
                             "nomjeunefille", "birthname", "maidenname"}),
}  # fmt: skip


def _column_key(title: str) -> str:
    return normalise_name(title).replace(" ", "").lower()


def parse_patient_list(data: bytes | str) -> tuple[PracticePatient, ...]:
    """Read a CSV export (``;``, ``,`` or tab separated; any usual encoding).

    Needs columns for id, last name, first name(s) and birth date; NIR and birth name are
    optional. An unreadable birth date or NIR is left empty, not guessed.
    """
    try:
        text = decode_text(data).text if isinstance(data, bytes) else data
    except FormatError:
        raise InvalidPatientList("Encodage inconnu / unknown encoding") from None
    text = text.lstrip("\ufeff")
    first_line = text.split("\n", 1)[0]
    delimiter = max(";,\t", key=first_line.count)
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    if not rows:
        raise InvalidPatientList("Liste vide / empty list", line=1)
    where: dict[str, int] = {}
    for k, title in enumerate(rows[0]):
        key = _column_key(title)
        for name, aliases in _COLUMNS.items():
            if key in aliases and name not in where:
                where[name] = k
    for name in ("patient_id", "last_name", "first_names", "birth_date"):
        if name not in where:
            raise InvalidPatientList("Colonne absente / missing column", line=1, column=name)
    patients = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = {name: row[k].strip() if k < len(row) else "" for name, k in where.items()}
        if not cells["patient_id"]:
            raise InvalidPatientList("Identifiant vide / empty id", line=number, column="id")
        try:
            birth, two_digits = parse_date(cells["birth_date"])
        except ValueError:
            birth, two_digits = None, False
        birth = None if two_digits else birth  # a two-digit year is not guessed
        patients.append(
            PracticePatient(
                cells["patient_id"],
                cells["last_name"],
                cells["first_names"],
                birth,
                _nir(cells.get("nir", "")),
                cells.get("birth_name", ""),
            )
        )
    return tuple(patients)


# -- matching --------------------------------------------------------------------------------


def _similar(a: str, b: str) -> bool:
    if not a or not b:
        return False
    if a == b or a.startswith(b + " ") or b.startswith(a + " "):
        return True
    return SequenceMatcher(None, a, b).ratio() >= SIMILAR


def _first_names(raw: str) -> set[str]:
    """The whole first-names field and its first name (commas or spaces separate names)."""
    tokens = [t for t in raw.replace(",", " ").split() if t]
    out = {normalise_name(raw)}
    if tokens:
        out.add(normalise_name(tokens[0]))
    return out - {""}


def _assess(q: PatientQuery, p: PracticePatient, q_nir: str) -> tuple[str, tuple[str, ...]]:
    """``("nir" | "traits" | "close" | "", reasons)`` for one patient."""
    q_last, q_first = normalise_name(q.last_name), normalise_name(q.first_name)
    names = {normalise_name(p.last_name), normalise_name(p.birth_name)} - {""}
    firsts = _first_names(p.first_names)
    last_eq = q_last in names
    first_eq = q_first in firsts
    dob_eq = q.birth_date is not None and q.birth_date == p.birth_date
    reasons = [r for r, ok in (("last-name", last_eq), ("first-name", first_eq),
                               ("birth-date", dob_eq)) if ok]  # fmt: skip
    if q_nir and p.nir == q_nir:
        return "nir", ("nir", *reasons)
    nir_conflict = bool(q_nir and p.nir)
    if last_eq and first_eq and dob_eq and not nir_conflict:
        return "traits", tuple(reasons)
    last_sim = any(_similar(q_last, n) for n in names)
    first_sim = any(_similar(q_first, f) for f in firsts)
    if dob_eq and (last_sim or first_sim):
        extra = [r for r, ok in (("similar-last-name", last_sim and not last_eq),
                                 ("similar-first-name", first_sim and not first_eq),
                                 ("nir-differs", nir_conflict)) if ok]  # fmt: skip
        return "close", (*reasons, *extra)
    if last_eq and first_eq:
        return "close", (*reasons, "other-birth-date")
    return "", ()


def _near_twin(candidate: Candidate) -> bool:
    """Same birth date and the same or a similar last name: a twin, a sibling, a typo."""
    r = set(candidate.reasons)
    return "birth-date" in r and bool(r & {"last-name", "similar-last-name"})


def match_patient(query: PatientQuery, patients: tuple[PracticePatient, ...]) -> MatchResult:
    """Match ``query`` against the practice's list (see the module docstring for the rules)."""
    q_nir = _nir(query.nir)
    by_kind: dict[str, list[Candidate]] = {"nir": [], "traits": [], "close": []}
    for p in patients:
        kind, reasons = _assess(query, p, q_nir)
        if kind:
            by_kind[kind].append(Candidate(p.patient_id, reasons))
    everyone = tuple(by_kind["nir"] + by_kind["traits"] + by_kind["close"])
    if len(by_kind["nir"]) == 1:
        return MatchResult(MatchStatus.EXACT, by_kind["nir"][0].patient_id, everyone, "nir")
    if len(by_kind["nir"]) > 1:
        return MatchResult(MatchStatus.UNCERTAIN, None, everyone, "several-nir")
    twins = [c for c in by_kind["close"] if _near_twin(c)]
    if len(by_kind["traits"]) == 1 and not twins:
        return MatchResult(MatchStatus.EXACT, by_kind["traits"][0].patient_id, everyone, "traits")
    if len(by_kind["traits"]) > 1:
        return MatchResult(MatchStatus.UNCERTAIN, None, everyone, "several-candidates")
    if everyone:
        reason = "near-twin" if by_kind["traits"] else "similar"
        return MatchResult(MatchStatus.UNCERTAIN, None, everyone, reason)
    return MatchResult(MatchStatus.NONE, None, (), "no-candidate")
