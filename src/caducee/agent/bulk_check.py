"""Before a send, what the agent sees that the server cannot: is this bulk mail? Pure.

The server counts recipients and first contacts; the agent also reads the document. Three
facts decide (:func:`assess_send`):

1. **Many recipients**: more than :func:`many_threshold` of the sender's limits (half the
   per-message cap, at least :data:`MIN_MANY`, at most the cap itself).
2. **Announcement cues** (:func:`find_cues`), French and English, in the document's text and
   file name: a retirement, an installation or a new address, a meeting, congress or training
   invitation, a thesis questionnaire or survey, a newsletter, advertising. A salutation to
   many ("chers confrères") or a link counts only with another weak cue.
3. **Patient identity** (:func:`carries_patient`): a structured document (HPRIM, HPRIM Santé,
   HL7 v2, FHIR, CDA) naming a patient, a NIR with a valid key, or a birth date given as one.

Then: a blocked sender is refused; more recipients than the cap without any patient data is
refused locally; an announcement without patient identity for many recipients asks for a
confirmation that quotes the charter; over the cap with patient data, or under a ``hold``
sanction, the sender is told that a moderator will check it. Only the file name and the
first :data:`MAX_TEXT` characters are read, and only when the recipients are many.
"""

from __future__ import annotations

import re
import unicodedata
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from io import BytesIO

from caducee.formats.convert import read_documents
from caducee.formats.errors import FormatError
from caducee.formats.nir import parse_nir
from caducee.formats.sniff import FileKind, sniff
from caducee.formats.text import to_text
from caducee.policy.bulk import Limits

__all__ = [
    "MIN_MANY",
    "BulkAdvice",
    "Concern",
    "Cue",
    "DocumentFacts",
    "assess_send",
    "carries_patient",
    "charter_rule",
    "document_text",
    "find_cues",
    "fold",
    "many_threshold",
    "read_facts",
]

MIN_MANY = 5  # fewer recipients than this are never "many"
MAX_TEXT = 200_000  # characters of a document read for cues
MAX_ZIP_MEMBER = 4 * 1024 * 1024  # bytes of a DOCX/ODT body read (a zip bomb stops there)


class Cue(StrEnum):
    """What an announcement-like text mentions; the last two are weak cues."""

    RETIREMENT = "retirement"
    INSTALLATION = "installation"
    EVENT = "event"
    SURVEY = "survey"
    NEWSLETTER = "newsletter"
    ADVERTISING = "advertising"
    GREETING = "greeting"  # weak: "chers confrères", "dear colleagues"
    LINK = "link"  # weak: a web address or "click here"


WEAK = frozenset({Cue.GREETING, Cue.LINK})


class Concern(StrEnum):
    """Why a send is refused (the first two) or needs the sender's confirmation."""

    SENDER_BLOCKED = "sender-blocked"
    BULK_WITHOUT_PATIENT = "bulk-without-patient"
    ANNOUNCEMENT = "announcement"
    OVER_LIMIT = "over-limit"
    SENDER_HELD = "sender-held"


REFUSALS = frozenset({Concern.SENDER_BLOCKED, Concern.BULK_WITHOUT_PATIENT})

# Patterns run on fold(text): lower case, no accents, straight apostrophes, single spaces.
_CUES: dict[Cue, re.Pattern[str]] = {
    Cue.RETIREMENT: re.compile(
        r"\b(?:depart|partir|prendre|prends|prendrai|prend) (?:a|en|ma|sa|notre) (?:la )?retraite"
        r"|\bcessation (?:d'activite|de mon activite)|\bcesse(?:r|rai)? mon activite"
        r"|\bmon successeur\b|\bma successeure?\b|\bretire(?:d|ment)?\b|\bretiring\b"
    ),
    Cue.INSTALLATION: re.compile(
        r"\bje m'installe\b|\bnous nous installons\b|\bm'installer\b"
        r"|\binstallation (?:de mon|de notre|du|d'un|en) (?:cabinet|centre|laboratoire|activite)"
        r"|\b(?:ouverture|transfert|demenagement) (?:du|de mon|de notre|d'un|d'une) "
        r"(?:cabinet|centre|laboratoire|maison de sante|pharmacie)"
        r"|\bnouvelle adresse\b|\bnouvelles coordonnees\b|\bnew (?:practice|address)\b"
        r"|\bopening (?:of )?(?:my|our|a new) (?:practice|clinic|office)\b|\b(?:has|have) moved\b"
    ),
    Cue.EVENT: re.compile(
        r"\binvitation\b|\bvous (?:etes|serez) (?:cordialement )?(?:convie|invite)e?s?\b"
        r"|\b(?:vous )?invite(?:r)? a (?:participer|assister|une|notre|la|un)\b"
        r"|\b(?:soiree|congres|colloque|symposium|seminaire|webinaire|webinar)\b"
        r"|\bjournee (?:de formation|scientifique|d'etude|d'echanges?)\b|\bformation continue\b"
        r"|\b(?:fmc|epu|dpc)\b|\binscriptions? (?:obligatoire|gratuite|sur|avant|en ligne)\b"
        r"|\bmeeting\b|\bcongress\b|\bconference\b|\bworkshop\b|\bseminar\b|\brsvp\b"
        r"|\byou are (?:cordially )?invited\b|\bregister (?:now|here|online|before)\b"
        r"|\breunion (?:d'information|de presentation|annuelle|du reseau|de secteur)\b"
    ),
    Cue.SURVEY: re.compile(
        r"\bquestionnaires?\b|\benquete\b|\bsondage\b|\bsurvey\b|\bthesis\b|\bdissertation\b"
        r"|\b(?:ma|sa|une|la|de|notre|cette|travail de|sujet de) these\b"
        r"|\bthese (?:de (?:doctorat|medecine|pharmacie|fin)|d'exercice)\b|\bdoctorant\b"
        r"|\bparticiper a (?:mon|notre|une|cette) (?:etude|enquete|recherche)\b"
        r"|\b(?:forms\.gle|docs\.google\.com/forms|limesurvey|surveymonkey|framaforms|typeform)\b"
    ),
    Cue.NEWSLETTER: re.compile(
        r"\bnewsletter\b|\blettre d'(?:information|actualites?)\b|\bbulletin d'information\b"
        r"|\bse desinscrire\b|\bdesinscription\b|\bdesabonner\b|\bunsubscribe\b"
        r"|\bmailing list\b|\bliste de diffusion\b"
    ),
    Cue.ADVERTISING: re.compile(
        r"\boffre (?:speciale|promotionnelle|exceptionnelle|de lancement)\b|\bpromotion\b"
        r"|\bremise de \d+ ?%|\b\d+ ?% de (?:remise|reduction)\b|\bspecial offer\b"
        r"|\bdiscount\b|\bcode promo\b"
    ),
    Cue.GREETING: re.compile(
        r"\bch(?:er|ers|ere|eres) (?:tou(?:te)?s? )?(?:confreres?|consoeurs?|collegues?"
        r"|correspondants?|partenaires?|amis)\b|\bmesdames,? messieurs\b"
        r"|\bdear (?:colleagues?|all|friends|doctors?)\b"
    ),
    Cue.LINK: re.compile(r"https?://|\bwww\.|\bcliquez\b|\bclick here\b|\blien ci-dessous\b"),
}

_DATE = r"\d{1,2} ?[/.-] ?\d{1,2} ?[/.-] ?\d{2,4}"
_BIRTH = re.compile(
    rf"\bnee?(?: ?\(e\))? le :? ?{_DATE}|\bdate de naissance ?:? ?{_DATE}|\bddn ?:? ?{_DATE}"
    rf"|\b(?:date of birth|dob|born(?: on)?) ?:? ?{_DATE}"
)
_NIR = re.compile(r"(?<![\d])[1-478] ?\d{2} ?\d{2} ?(?:\d{2}|2a|2b) ?\d{3} ?\d{3} ?\d{2}(?![\d])")
_TAGS = re.compile(r"<[^>]{0,2000}>")
_STRUCTURED = frozenset({FileKind.HPRIM, FileKind.HPRIM_SANTE, FileKind.HL7V2})


def fold(text: str) -> str:
    """Lower case without accents, ``œ`` as ``oe``, straight apostrophes, single spaces."""
    lowered = text.lower().replace("œ", "oe").replace("æ", "ae")
    lowered = lowered.replace("\u2019", "'").replace("\u2018", "'").replace("\u02bc", "'")
    decomposed = unicodedata.normalize("NFKD", lowered)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.split())


def find_cues(text: str) -> frozenset[Cue]:
    """Every cue category that ``text`` mentions."""
    folded = fold(text)
    return frozenset(cue for cue, pattern in _CUES.items() if pattern.search(folded))


def _zip_text(data: bytes) -> str:
    """The body text of a DOCX (``word/document.xml``) or ODT (``content.xml``), or ``""``."""
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            names = set(archive.namelist())
            member = next((n for n in ("word/document.xml", "content.xml") if n in names), None)
            if member is None:
                return ""
            with archive.open(member) as handle:
                xml = handle.read(MAX_ZIP_MEMBER).decode("utf-8", errors="replace")
    except (zipfile.BadZipFile, OSError, RuntimeError, ValueError, EOFError):
        return ""
    return _TAGS.sub(" ", xml)


def document_text(filename: str, data: bytes) -> str:
    """What can be read of a document: its file name, then its text (PDF and images: none)."""
    name = re.sub(r"[_\-.+]+", " ", filename)
    kind = sniff(data)
    body = ""
    if kind is FileKind.ZIP:
        body = _zip_text(data)
    elif kind not in (FileKind.PDF, FileKind.PNG, FileKind.JPEG, FileKind.UNKNOWN):
        try:
            body = to_text(data[: MAX_TEXT * 4])
        except (FormatError, ValueError):
            body = ""
        if kind in (FileKind.XML, FileKind.CDA) or body.lstrip().startswith("<"):
            body = _TAGS.sub(" ", body)
    return f"{name}\n{body[:MAX_TEXT]}"


def carries_patient(filename: str, data: bytes) -> bool:
    """Whether the document identifies a patient (see the module docstring)."""
    kind = sniff(data)
    if kind is FileKind.CDA:
        return True
    if kind in _STRUCTURED or data.lstrip()[:1] == b"{":
        try:
            _, documents = read_documents(data)
        except FormatError:
            documents = []
        except Exception:  # a third-party parser's own error: unreadable, not a crash
            documents = []
        if any(d.header.last_name.strip() or d.header.birth_date for d in documents):
            return True
    folded = fold(document_text(filename, data))
    if _BIRTH.search(folded):
        return True
    for match in _NIR.finditer(folded):
        try:
            parse_nir(match.group(0))
        except FormatError:
            continue
        return True
    return False


@dataclass(frozen=True)
class DocumentFacts:
    """What the agent read in a message: its cues and whether it identifies a patient."""

    cues: frozenset[Cue]
    patient: bool

    @property
    def announcement(self) -> bool:
        """Announcement-like: a strong cue (or two weak ones), and no patient identified."""
        strong = self.cues - WEAK
        return not self.patient and (bool(strong) or len(self.cues & WEAK) >= 2)


def read_facts(parts: Sequence[tuple[str, bytes]]) -> DocumentFacts:
    """The facts of every part of a message (a file and its companions) together."""
    cues: set[Cue] = set()
    patient = False
    for name, data in parts:
        cues |= find_cues(document_text(name, data))
        patient = patient or carries_patient(name, data)
    return DocumentFacts(frozenset(cues), patient)


def many_threshold(limits: Limits) -> int:
    """More recipients than this are "many" for a sender with these limits."""
    cap = limits.recipients_per_message
    return min(cap, max(MIN_MANY, cap // 2))


@dataclass(frozen=True)
class BulkAdvice:
    """The verdict on one send: its concerns in order, and the figures they came from."""

    recipients: int
    threshold: int
    limit: int
    concerns: tuple[Concern, ...] = ()
    cues: frozenset[Cue] = frozenset()
    patient: bool | None = None  # None: the document was not read (few recipients)

    @property
    def refused(self) -> bool:
        return any(c in REFUSALS for c in self.concerns)

    @property
    def needs_confirmation(self) -> bool:
        return not self.refused and bool(self.concerns)

    @property
    def cue_names(self) -> tuple[str, ...]:
        return tuple(sorted(c.value for c in self.cues - WEAK)) or tuple(
            sorted(c.value for c in self.cues)
        )


def assess_send(
    recipients: int,
    limits: Limits,
    facts: Callable[[], DocumentFacts],
    *,
    sanction: str | None = None,
) -> BulkAdvice:
    """Decide on a send to ``recipients`` addresses; ``facts`` is called only when needed.

    ``sanction`` is the strongest sanction in force (``warning``, ``hold``, ``block``).
    """
    threshold = many_threshold(limits)
    cap = limits.recipients_per_message
    base = BulkAdvice(recipients, threshold, cap)
    if sanction == "block":
        return BulkAdvice(recipients, threshold, cap, (Concern.SENDER_BLOCKED,))
    concerns: list[Concern] = []
    read: DocumentFacts | None = None
    if recipients > threshold:
        read = facts()
        if recipients > cap and not read.patient:
            concerns.append(Concern.BULK_WITHOUT_PATIENT)
        elif read.announcement:
            concerns.append(Concern.ANNOUNCEMENT)
        if recipients > cap and read.patient:
            concerns.append(Concern.OVER_LIMIT)
    if sanction == "hold" and Concern.BULK_WITHOUT_PATIENT not in concerns:
        concerns.append(Concern.SENDER_HELD)
    if read is None:
        return BulkAdvice(recipients, threshold, cap, tuple(concerns)) if concerns else base
    return BulkAdvice(recipients, threshold, cap, tuple(concerns), read.cues, read.patient)


_CHARTER_WORDS = re.compile(
    r"\ben (?:masse|nombre)\b|\bdiffusion\b|\bpublicit|\bbulk\b|\bspam\b|\bmass mail"
    r"|\bannonces?\b|\bannouncements?\b|\bquestionnaires?\b|\binvitations?\b|\bnewsletters?\b"
)


def charter_rule(text: str, *, limit: int = 1200) -> str | None:
    """The paragraphs of a charter about bulk mail (to quote them), or ``None``."""
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]
    found = [p for p in paragraphs if _CHARTER_WORDS.search(fold(p))]
    if not found:
        return None
    quoted = "\n\n".join(found)
    return quoted if len(quoted) <= limit else quoted[: limit - 1].rstrip() + "…"
