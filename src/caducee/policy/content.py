"""The content policy the agent applies to what it sends and receives.

Sending: a result that is a PDF alone is refused (or warned about), a message about a patient
must carry an HPRIM header with last name, first name and birth date, and parts and message
have size limits. Each rule is STRICT (refuse) or ADVISORY (warn); the operator sets the modes
per organisation and the agent receives them as JSON. Attachment names are made unique.
Receiving: nothing is refused; a PDF-only message is flagged, structured results extracted.
Types are read from the content (:func:`~caducee.formats.sniff.sniff`), never from names.
"""

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum

from caducee.formats.convert import read_documents
from caducee.formats.errors import FormatError
from caducee.formats.hprim_model import HPRIMDocument
from caducee.formats.sniff import FileKind, sniff
from caducee.policy.errors import ContentRefused, InvalidPolicy

__all__ = [
    "PLATFORM_DEFAULT",
    "ContentPolicy",
    "Finding",
    "Mode",
    "OutgoingVerdict",
    "Part",
    "ReceivedFlag",
    "ReceivedVerdict",
    "Rule",
    "check_outgoing",
    "classify_received",
    "enforce_outgoing",
    "unique_names",
]

MiB = 1024 * 1024
_STRUCTURED = frozenset({FileKind.HPRIM, FileKind.HPRIM_SANTE, FileKind.HL7V2, FileKind.CDA})


class Mode(StrEnum):
    STRICT = "strict"
    ADVISORY = "advisory"


class Rule(StrEnum):
    PDF_ONLY = "pdf-only"
    PATIENT_HEADER = "patient-header"
    PART_SIZE = "part-size"
    MESSAGE_SIZE = "message-size"


_MESSAGES: dict[Rule, str] = {
    Rule.PDF_ONLY: (
        "Un résultat en PDF seul n'est pas intégrable par le logiciel du médecin : envoyez le "
        "compte rendu HPRIM (texte), avec le PDF à côté si vous le souhaitez. / A result sent "
        "as a PDF alone cannot be filed by the doctor's software: send the HPRIM text report, "
        "with the PDF beside it if you wish."
    ),
    Rule.PATIENT_HEADER: (
        "Un message concernant un patient doit porter un en-tête HPRIM avec nom, prénom et "
        "date de naissance. / A message about a patient must carry an HPRIM header with last "
        "name, first name and birth date."
    ),
    Rule.PART_SIZE: (
        "Pièce jointe trop volumineuse. / Attachment too large."
    ),
    Rule.MESSAGE_SIZE: (
        "Message trop volumineux : envoyez-le en plusieurs fois. / Message too large: send it "
        "in several parts."
    ),
}  # fmt: skip


@dataclass(frozen=True)
class ContentPolicy:
    """Per-rule modes and the size limits (bytes). Defaults are the strict ones."""

    pdf_only: Mode = Mode.STRICT
    patient_header: Mode = Mode.STRICT
    part_size: Mode = Mode.STRICT
    message_size: Mode = Mode.STRICT
    max_part_bytes: int = 20 * MiB
    max_message_bytes: int = 50 * MiB

    def mode(self, rule: Rule) -> Mode:
        return Mode(getattr(self, rule.value.replace("-", "_")))

    def to_json(self) -> str:
        """``{"modes": {"pdf-only": "strict", ...}, "max_part_bytes": ..., ...}``."""
        modes = {rule.value: self.mode(rule).value for rule in Rule}
        limits = {k: v for k, v in asdict(self).items() if k.startswith("max_")}
        return json.dumps({"modes": modes, **limits}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> "ContentPolicy":
        """Read :meth:`to_json`'s form; absent keys keep their defaults, unknown ones refuse."""
        try:
            payload = json.loads(text)
        except ValueError:
            raise InvalidPolicy("Politique illisible / unreadable policy") from None
        if not isinstance(payload, dict) or set(payload) - {"modes", *_LIMITS}:
            raise InvalidPolicy("Clé inconnue / unknown key")
        modes = payload.get("modes", {})
        if not isinstance(modes, dict):
            raise InvalidPolicy("« modes » doit être un objet / 'modes' must be an object")
        kwargs: dict[str, object] = {}
        for key, value in modes.items():
            if key not in _RULES or value not in _MODES:
                raise InvalidPolicy(f"Règle ou mode inconnu / unknown rule or mode: {key!s:.40}")
            kwargs[key.replace("-", "_")] = Mode(value)
        for key in _LIMITS & set(payload):
            value = payload[key]
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise InvalidPolicy(f"Limite invalide / invalid limit: {key}")
            kwargs[key] = value
        return cls(**kwargs)  # type: ignore[arg-type]


PLATFORM_DEFAULT = ContentPolicy(part_size=Mode.ADVISORY, message_size=Mode.ADVISORY)
"""What an organisation gets until the operator sets its policy: sizes only warn."""

_RULES = frozenset(r.value for r in Rule)
_MODES = frozenset(m.value for m in Mode)
_LIMITS = frozenset({"max_part_bytes", "max_message_bytes"})


@dataclass(frozen=True)
class Part:
    """An attachment (or body part): its file name and bytes."""

    name: str
    data: bytes

    @property
    def kind(self) -> FileKind:
        """What the bytes are, whatever the name says."""
        return sniff(self.data)


@dataclass(frozen=True)
class Finding:
    """A rule that fired: refused when its mode is STRICT, a warning when ADVISORY."""

    rule: Rule
    mode: Mode
    message: str
    part: str | None = None


@dataclass(frozen=True)
class OutgoingVerdict:
    """The parts as they will be sent (renamed) and what the rules found."""

    parts: tuple[Part, ...]
    refusals: tuple[Finding, ...] = ()
    warnings: tuple[Finding, ...] = ()

    @property
    def accepted(self) -> bool:
        return not self.refusals


def _safe_name(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(c for c in base if c.isprintable()).strip().strip(".")
    return base or "piece-jointe"


def unique_names(names: Sequence[str]) -> tuple[str, ...]:
    """Names made safe (no folders) and unique, case-insensitively: ``a.pdf``, ``a-2.pdf``..."""
    taken: set[str] = set()
    out = []
    for raw in names:
        name = _safe_name(raw)
        stem, dot, ext = name.rpartition(".")
        if not dot or not stem:
            stem, dot, ext = name, "", ""
        candidate, k = name, 1
        while candidate.lower() in taken:
            k += 1
            candidate = f"{stem}-{k}{dot}{ext}"
        taken.add(candidate.lower())
        out.append(candidate)
    return tuple(out)


def _renamed(parts: Sequence[Part]) -> tuple[Part, ...]:
    names = unique_names([p.name for p in parts])
    return tuple(Part(name, p.data) for name, p in zip(names, parts, strict=True))


def _kinds(parts: Sequence[Part]) -> list[FileKind | str]:
    kinds: list[FileKind | str] = []
    for part in parts:
        kind = part.kind
        if kind in (FileKind.TEXT, FileKind.UNKNOWN) and part.data.lstrip().startswith(b"{"):
            try:
                found, _ = read_documents(part.data)
            except FormatError:
                found = kind
            kinds.append(found)
        else:
            kinds.append(kind)
    return kinds


def _header_ok(parts: Sequence[Part], kinds: Sequence[FileKind | str]) -> bool:
    found = False
    for part, kind in zip(parts, kinds, strict=True):
        if kind not in (FileKind.HPRIM, FileKind.HPRIM_SANTE):
            continue
        try:
            _, docs = read_documents(part.data)
        except FormatError:
            return False
        for doc in docs:
            h = doc.header
            if not (h.last_name.strip() and h.first_name.strip() and h.birth_date):
                return False
        found = found or bool(docs)
    return found


def check_outgoing(
    parts: Sequence[Part],
    policy: ContentPolicy,
    *,
    about_patient: bool = True,
    is_result: bool = True,
) -> OutgoingVerdict:
    """Apply every rule to an outgoing message; never raises for content (see ``enforce_``)."""
    renamed = _renamed(parts)
    findings: list[Finding] = []

    def fire(rule: Rule, part: str | None = None) -> None:
        findings.append(Finding(rule, policy.mode(rule), _MESSAGES[rule], part))

    kinds = _kinds(renamed)
    structured = any(k in _STRUCTURED or k == "fhir" for k in kinds)
    if is_result and FileKind.PDF in kinds and not structured:
        fire(Rule.PDF_ONLY)
    if about_patient and not _header_ok(renamed, kinds):
        fire(Rule.PATIENT_HEADER)
    for part in renamed:
        if len(part.data) > policy.max_part_bytes:
            fire(Rule.PART_SIZE, part.name)
    if sum(len(p.data) for p in renamed) > policy.max_message_bytes:
        fire(Rule.MESSAGE_SIZE)
    return OutgoingVerdict(
        renamed,
        tuple(f for f in findings if f.mode is Mode.STRICT),
        tuple(f for f in findings if f.mode is Mode.ADVISORY),
    )


def enforce_outgoing(
    parts: Sequence[Part],
    policy: ContentPolicy,
    *,
    about_patient: bool = True,
    is_result: bool = True,
) -> OutgoingVerdict:
    """:func:`check_outgoing`, raising :class:`ContentRefused` when a STRICT rule fired."""
    verdict = check_outgoing(parts, policy, about_patient=about_patient, is_result=is_result)
    if verdict.refusals:
        reasons = " ".join(f.message for f in verdict.refusals)
        raise ContentRefused(reasons, findings=verdict.refusals + verdict.warnings)
    return verdict


class ReceivedFlag(StrEnum):
    PDF_ONLY = "pdf-only"
    STRUCTURED = "structured"
    UNREADABLE = "unreadable"
    EMPTY = "empty"


@dataclass(frozen=True)
class ReceivedVerdict:
    """What arrived: the parts (renamed), their kinds, flags, and the documents read.

    ``unreadable`` names the parts that looked structured but failed to parse, with the code.
    """

    parts: tuple[Part, ...]
    kinds: tuple[str, ...]
    flags: frozenset[ReceivedFlag]
    documents: tuple[HPRIMDocument, ...] = ()
    unreadable: tuple[tuple[str, str], ...] = field(default_factory=tuple)


def classify_received(parts: Sequence[Part]) -> ReceivedVerdict:
    """Classify a received message; nothing is dropped, whatever its content."""
    renamed = _renamed(parts)
    kinds = _kinds(renamed)
    flags: set[ReceivedFlag] = set()
    documents: list[HPRIMDocument] = []
    unreadable: list[tuple[str, str]] = []
    for part, kind in zip(renamed, kinds, strict=True):
        if kind in (FileKind.HPRIM, FileKind.HPRIM_SANTE, FileKind.HL7V2, "fhir"):
            try:
                documents += read_documents(part.data)[1]
            except FormatError as exc:
                unreadable.append((part.name, exc.code))
    structured = any(k in _STRUCTURED or k == "fhir" for k in kinds)
    if documents:
        flags.add(ReceivedFlag.STRUCTURED)
    if unreadable:
        flags.add(ReceivedFlag.UNREADABLE)
    if FileKind.PDF in kinds and not structured:
        flags.add(ReceivedFlag.PDF_ONLY)
    if not renamed:
        flags.add(ReceivedFlag.EMPTY)
    return ReceivedVerdict(
        renamed, tuple(str(k) for k in kinds), frozenset(flags), tuple(documents), tuple(unreadable)
    )
