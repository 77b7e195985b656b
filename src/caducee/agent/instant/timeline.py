"""A case's entries folded into what a person reads: the pages, the export and the CLI.

- an edit changes the text (or a photo's caption) of its target when its sender is the
  target's sender, and the earlier versions are kept ("modifié / edited");
- a deletion by the target's sender hides the content and shows "supprimé par X le T /
  deleted by X at T", never a silent removal;
- edits and deletions of someone else's message are not applied (the server cannot check
  them; every client refuses them alike) and are listed as refused;
- a reply carries the quoted message (its sender and the beginning of its current text);
- read receipts ("up to sequence n") mark every earlier message as read by their sender;
- acknowledgements ("je m'en occupe") are events of their own;
- an entry this device cannot decrypt stays in the timeline, with its error code;
- the patient's card is shown once: a copy carried into a new generation (so that newcomers
  read it, :mod:`.case`) is not shown again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from caducee.agent.instant.case import INLINE_IMAGE_TYPES, Entry
from caducee.instant.payloads import (
    Acknowledgement,
    Attachment,
    Deletion,
    Edit,
    PatientCard,
    Read,
    Text,
)

__all__ = ["AttachmentInfo", "Event", "Quote", "Shown", "Timeline", "Version", "fold"]

EXCERPT = 80


@dataclass(frozen=True)
class Version:
    at: datetime
    text: str


@dataclass(frozen=True)
class AttachmentInfo:
    kind: str  # "photo" or "file"
    name: str
    media_type: str
    size: int
    blurred: bool

    @property
    def inline(self) -> bool:
        return self.kind == "photo" and self.media_type in INLINE_IMAGE_TYPES


@dataclass(frozen=True)
class Quote:
    message_id: str
    sequence: int
    sender: str
    excerpt: str
    deleted: bool


@dataclass
class Shown:
    """One message as shown (kind: patient, text, photo, file, unreadable)."""

    sequence: int
    message_id: str
    sender: str
    sender_device: str
    at: datetime
    mine: bool
    kind: str
    text: str | None = None
    patient: PatientCard | None = None
    attachment: AttachmentInfo | None = None
    reply_to: str | None = None
    quoted: Quote | None = None
    versions: list[Version] = field(default_factory=list)  # earlier texts, oldest first
    edited_at: datetime | None = None
    deleted_by: str | None = None
    deleted_at: datetime | None = None
    error: str | None = None
    server_kind: str = "message"
    read_by: list[tuple[str, datetime]] = field(default_factory=list)

    @property
    def deleted(self) -> bool:
        return self.deleted_by is not None

    @property
    def editable(self) -> bool:
        return self.mine and not self.deleted and self.kind in ("text", "photo", "file")


@dataclass(frozen=True)
class Event:
    """A read receipt or an acknowledgement."""

    sequence: int
    kind: str  # "read" or "ack"
    sender: str
    at: datetime
    up_to: int = 0


@dataclass
class Timeline:
    items: list[Shown | Event]
    messages: dict[str, Shown]
    reads: dict[str, tuple[int, datetime]]
    acknowledgements: list[Event]
    refused: list[Entry]
    patient: PatientCard | None


def _excerpt(shown: Shown) -> str:
    if shown.deleted:
        return ""
    if shown.attachment is not None:
        base = f"[{shown.attachment.name}]"
        return f"{base} {shown.text}" if shown.text else base
    text = " ".join((shown.text or "").split())
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…"


def _shown(entry: Entry, me: str) -> Shown:
    shown = Shown(
        entry.sequence,
        entry.message_id,
        entry.sender,
        entry.sender_device,
        entry.at,
        entry.sender == me,
        "unreadable",
        error=entry.error,
        server_kind=entry.kind,
    )
    match entry.payload:
        case PatientCard() as card:
            shown.kind, shown.patient = "patient", card
        case Text(text, reply_to):
            shown.kind, shown.text, shown.reply_to = "text", text, reply_to
        case Attachment() as a:
            shown.kind, shown.text, shown.reply_to = a.kind, a.caption, a.reply_to
            shown.attachment = AttachmentInfo(a.kind, a.name, a.media_type, len(a.data), a.blurred)
    return shown


def fold(entries: list[Entry], me: str) -> Timeline:
    """The timeline of ``entries`` (in sequence order) for the person ``me``."""
    items: list[Shown | Event] = []
    messages: dict[str, Shown] = {}
    reads: dict[str, tuple[int, datetime]] = {}
    acknowledgements: list[Event] = []
    refused: list[Entry] = []
    patient: PatientCard | None = None
    for entry in sorted(entries, key=lambda e: e.sequence):
        payload = entry.payload
        if isinstance(payload, Edit | Deletion) and entry.error is None:
            target = messages.get(payload.target)
            if (
                target is None
                or target.sender != entry.sender
                or target.deleted
                or target.kind not in ("text", "photo", "file")
            ):
                refused.append(entry)
                continue
            if isinstance(payload, Edit):
                if target.text is not None:
                    target.versions.append(Version(target.edited_at or target.at, target.text))
                target.text, target.edited_at = payload.text, entry.at
            else:
                target.deleted_by, target.deleted_at = entry.sender, entry.at
                target.text, target.attachment = None, None
            continue
        if isinstance(payload, Read):
            up_to = min(payload.up_to, entry.sequence)
            if up_to > reads.get(entry.sender, (0, entry.at))[0]:
                reads[entry.sender] = (up_to, entry.at)
            items.append(Event(entry.sequence, "read", entry.sender, entry.at, up_to))
            continue
        if isinstance(payload, Acknowledgement):
            event = Event(entry.sequence, "ack", entry.sender, entry.at)
            acknowledgements.append(event)
            items.append(event)
            continue
        shown = _shown(entry, me)
        if shown.patient is not None and patient is not None and shown.patient == patient:
            continue  # the same card carried into a later generation
        if shown.patient is not None and patient is None:
            patient = shown.patient
        messages[shown.message_id] = shown
        items.append(shown)
    for shown in messages.values():
        if shown.reply_to and (quoted := messages.get(shown.reply_to)) is not None:
            shown.quoted = Quote(
                quoted.message_id, quoted.sequence, quoted.sender, _excerpt(quoted), quoted.deleted
            )
        shown.read_by = sorted(
            (reader, at)
            for reader, (up_to, at) in reads.items()
            if up_to >= shown.sequence and reader != shown.sender
        )
    return Timeline(items, messages, reads, acknowledgements, refused, patient)
