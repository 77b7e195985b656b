"""One case seen from the workstation's device: the Python twin of the browser's ``cases.js``.

:class:`CaseState` holds the case's sender-key group (:class:`.cipher.CaseCipher`), the
devices this device's current chain is sealed to, a cursor, and the entries decrypted here
(in memory only: no plaintext of a message is ever written to disk, except by an export).

- :meth:`CaseState.sync` fetches what came after the cursor, takes in the sender keys sealed
  to this device (its own included) and decrypts the rest; each entry keeps its decoded
  payload (:mod:`caducee.instant.payloads`) or the error code that kept it unreadable.
- :meth:`CaseState.share_keys`, before each message: the active devices of the current
  participants *and of the escalation's reach* (``escalation_reach``: whom the escalation may
  still add, so that a backup reached while this device is offline reads the question) are
  fetched and verified (:class:`.peers.PeerDevices`); a new generation starts when a device
  that held the current chain is gone (a participant removed, a device revoked, someone out
  of the reach), on the schedule (500 messages or 24 hours: :mod:`.cipher`), after a failed
  distribution, and for the first message of each session; each new chain is sealed to this
  device too, so a restart replaying the case from sequence 1 reads its own messages. Devices
  that appeared get the current chain from its generation's start (the core seals it so):
  they read what this device said in the current generation.
- A key can arrive after the messages it opens (a newcomer's key is posted when its sender
  next writes): entries left unreadable for want of a key are tried again after each key
  taken in.
- The patient's card stays readable for newcomers after rotations: when this device starts a
  new generation and the latest card it reads was sent by this device, or by someone no
  longer in the case, it sends the card again in the new generation (the timeline shows the
  card once). A newcomer is given only current generations, and the latest copy lives in one.
- One message at a time per case (a lock): keys sealed by a concurrent send could carry a
  later counter than a message posted before them, and receivers would skip that message.

Edits and deletions name their target and are honoured only for the target's own sender
(:mod:`.timeline` folds them); read receipts say "up to sequence n"; an acknowledgement is
"je m'en occupe" (``POST /cases/{id}/acknowledge``), which stops a role's escalation.
"""

from __future__ import annotations

import base64
import binascii
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from caducee.agent.instant.cipher import (
    CaseCipher,
    RotationLimits,
    clock_generation,
    generation_of,
)
from caducee.agent.instant.device import DeviceSession, b64
from caducee.agent.instant.errors import (
    InvalidCaseInput,
    MessageTooLarge,
    NotYourMessage,
    UnknownCaseMessage,
)
from caducee.agent.instant.peers import PeerDevices
from caducee.instant.device_keys import DeviceKeys, DevicePublicKeys
from caducee.instant.errors import InstantCryptoError, UnknownSenderKey
from caducee.instant.payloads import (
    MAX_ATTACHMENT_BYTES,
    Acknowledgement,
    Attachment,
    Deletion,
    Edit,
    PatientCard,
    Payload,
    Read,
    Text,
    decode_payload,
    encode_payload,
)

__all__ = [
    "MAX_PLAINTEXT",
    "PAGE",
    "CaseState",
    "Entry",
    "kind_of",
]

log = logging.getLogger(__name__)
PAGE = 200
# The server takes at most 4 MiB of base64 ciphertext (3 MiB of bytes) per message; the
# header, the tag and the signature take a few hundred bytes of it.
MAX_PLAINTEXT = 3 * 1024 * 1024 - 1024
MAX_TEXT = 20_000
# Shown inline on the pages; any other type is offered as a download.
INLINE_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})


@dataclass
class Entry:
    """One listed message as this device reads it (keys are not entries)."""

    sequence: int
    message_id: str
    kind: str
    sender: str
    sender_device: str
    at: datetime
    payload: Payload | None = None
    error: str | None = None


def kind_of(payload: Payload) -> str:
    """The clear routing kind (``MessageKind``) a payload is posted under."""
    match payload:
        case Edit():
            return "edit"
        case Deletion():
            return "deletion"
        case Read():
            return "read"
        case Acknowledgement():
            return "ack"
    return "message"


def _when(value: object) -> datetime:
    try:
        found = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(UTC)
    return found if found.tzinfo else found.replace(tzinfo=UTC)


class CaseState:
    """One case, from this device. Thread-safe: every operation holds the case's lock."""

    def __init__(
        self,
        case_id: str,
        device: DeviceKeys,
        session: DeviceSession,
        peers: PeerDevices,
        *,
        limits: RotationLimits | None = None,
        generation_floor: Callable[[], int] = clock_generation,
    ) -> None:
        self.case_id = case_id
        self.device = device
        self.session = session
        self.peers = peers
        self.cipher = CaseCipher(case_id, device, limits=limits)
        self.generation_floor = generation_floor
        self.sealed_to: set[str] = set()
        self.participant_devices: set[str] = set()  # devices seen as a participant's
        self.cursor = 0
        self.last_sequence = 0
        self.entries: list[Entry] = []
        self.by_id: dict[str, Entry] = {}
        self.metadata: dict[str, Any] = {}
        self.participants: tuple[str, ...] = ()
        self.highest_own_generation = -1
        self.lock = threading.RLock()
        self._sent: dict[str, Payload] = {}  # this session's own payloads, if a read-back fails
        self._keyless: dict[str, bytes] = {}  # ciphertexts of entries waiting for their key
        self._broken = False  # a distribution did not go out: start a new chain
        self._synced = False

    @property
    def me(self) -> str:
        return self.device.address

    # -- the server ---------------------------------------------------------------------------

    def refresh(self) -> dict[str, Any]:
        """The case's metadata (participants, escalation) as the server has it now."""
        view: dict[str, Any] = self.session.json("GET", f"/cases/{self.case_id}")
        with self.lock:
            self.metadata = view
            self.participants = tuple(str(a).lower() for a in view.get("participants", []))
            self.last_sequence = max(self.last_sequence, int(view.get("last_sequence", 0)))
        return view

    def _post(self, kind: str, ciphertext: bytes) -> tuple[str, int]:
        message_id = f"miss-{uuid.uuid4()}@{self.device.device_id}"
        body: dict[str, Any] = {
            "message_id": message_id,
            "device_id": self.device.device_id,
            "ciphertext": b64(ciphertext),
        }
        if kind == "ack":
            path = "acknowledge"
        else:
            path, body["kind"] = "messages", kind
        answer = self.session.json("POST", f"/cases/{self.case_id}/{path}", json=body)
        return message_id, int(answer["sequence"])

    # -- reading ------------------------------------------------------------------------------

    def sync(self) -> list[Entry]:
        """Fetch and decrypt what came after the cursor; the new entries."""
        with self.lock:
            added: list[Entry] = []
            while True:
                page = self.session.json(
                    "GET",
                    f"/cases/{self.case_id}/messages",
                    params={"device": self.device.device_id, "after": self.cursor, "limit": PAGE},
                )
                messages = page.get("messages", [])
                for listed in messages:
                    entry = self._open(listed)  # network trouble raises: the cursor stays
                    self.cursor = max(self.cursor, int(listed["sequence"]))
                    if entry is not None:
                        self.entries.append(entry)
                        self.by_id[entry.message_id] = entry
                        added.append(entry)
                self.last_sequence = max(self.last_sequence, int(page.get("last_sequence", 0)))
                if len(messages) < PAGE:
                    break
            self._retry_keyless(added)
            self._synced = True
            return added

    def _retry_keyless(self, added: list[Entry]) -> None:
        """Decrypt the entries that waited for a key, now that more keys may be in."""
        for message_id, data in sorted(
            self._keyless.items(), key=lambda item: self.by_id[item[0]].sequence
        ):
            entry = self.by_id[message_id]
            try:
                entry.payload = decode_payload(self.cipher.decrypt(data).plaintext)
            except InstantCryptoError as exc:
                if exc.code != UnknownSenderKey.code:
                    entry.error = exc.code
                    del self._keyless[message_id]
                continue
            entry.error = None
            del self._keyless[message_id]
            if entry not in added:
                added.append(entry)
            log.info("case %s: entry %d read with a later key", self.case_id, entry.sequence)

    def _know(self, address: str, device_id: str) -> bool:
        """Make a verified device of ``address`` a member, so that its keys and messages can
        be read; False when no valid certificate of ``address`` vouches for it."""
        if device_id in self.cipher.member_device_ids():
            return True
        for fresh in (False, True):
            device = self.peers.devices(address, fresh=fresh).get(device_id)
            if device is not None:
                self.cipher.add_members([device])  # the chain sealed to it is not sent here
                return True
        return False

    def _open(self, listed: dict[str, Any]) -> Entry | None:
        try:
            data = base64.b64decode(str(listed["ciphertext"]), validate=True)
        except (binascii.Error, ValueError):
            data = b""
        kind = str(listed["kind"])
        sender = str(listed["sender"]).lower()
        sender_device = str(listed["sender_device_id"])
        mine = sender_device == self.device.device_id
        if mine and (found := generation_of(data)) is not None:
            self.highest_own_generation = max(self.highest_own_generation, found[1])
        if kind == "key":
            if listed.get("recipient_device_id") != self.device.device_id:
                return None
            try:
                if mine or self._know(sender, sender_device):
                    self.cipher.receive_key(data)
            except InstantCryptoError as exc:  # the messages under it will say so
                log.info(
                    "case %s: key %s not taken (%s)", self.case_id, listed["sequence"], exc.code
                )
            return None
        entry = Entry(
            int(listed["sequence"]),
            str(listed["message_id"]),
            kind,
            sender,
            sender_device,
            _when(listed.get("created_at")),
        )
        try:
            if not mine and not self._know(sender, sender_device):
                entry.error = "instant-unknown-device"
                return entry
            entry.payload = decode_payload(self.cipher.decrypt(data).plaintext)
            self._sent.pop(entry.message_id, None)  # read back: no second copy in memory
        except InstantCryptoError as exc:
            entry.error = exc.code
            if mine and entry.message_id in self._sent:
                entry.payload, entry.error = self._sent[entry.message_id], None
            elif isinstance(exc, UnknownSenderKey):
                self._keyless[entry.message_id] = data  # its key may come later in the log
        return entry

    # -- sending ------------------------------------------------------------------------------

    def share_keys(self) -> None:
        """Seal the current chain to every active device of every participant (rotating
        first when due), and post the distributions."""
        with self.lock:
            view = self.refresh()
            me = self.device.device_id
            target: dict[str, DevicePublicKeys] = {}
            listed = view.get("escalation_reach")
            reach = tuple(str(a).lower() for a in listed) if isinstance(listed, list) else ()
            for address in sorted({*self.participants, *reach}):
                for device_id, device in self.peers.devices(address, fresh=True).items():
                    if device_id != me:
                        target[device_id] = device
                        if address in self.participants:
                            self.participant_devices.add(device_id)
            # Someone who left the reach without being added never was in the case: their
            # devices need no new chain (the server never showed them a message).
            stale = self.cipher.member_device_ids() - {me} - set(target)
            held = stale & self.sealed_to & self.participant_devices
            distributions = []
            card = None
            if self._broken or self.cipher.rotation_due() or held:
                card = self._card_to_carry()
                floor = max(self.highest_own_generation + 1, self.generation_floor())
                distributions = self.cipher.new_generation(stale, at_least=floor)
                self.sealed_to = {d.recipient_device_id for d in distributions} - {me}
                self.highest_own_generation = max(
                    self.highest_own_generation, self.cipher.generation
                )
                log.info("case %s: generation %d", self.case_id, self.cipher.generation)
            fresh = [
                d for device_id, d in sorted(target.items()) if device_id not in self.sealed_to
            ]
            if fresh:
                distributions += self.cipher.add_members(fresh)
                self.sealed_to.update(d.device_id for d in fresh)
            try:
                for distribution in distributions:
                    self._post("key", distribution.payload)
            except BaseException:
                self._broken = True  # some devices may lack the chain: a new one next time
                raise
            self._broken = False
            if card is not None:
                message_id, _ = self._post("message", self.cipher.encrypt(encode_payload(card)))
                self._sent[message_id] = card
                log.info("case %s: patient card carried into the new generation", self.case_id)

    def _card_to_carry(self) -> PatientCard | None:
        """The card to send again in a new generation: the latest readable one, when it was
        sent by this device or by someone no longer in the case (nobody else carries it)."""
        latest = next(
            (e for e in reversed(self.entries) if isinstance(e.payload, PatientCard)), None
        )
        if latest is None or not isinstance(latest.payload, PatientCard):
            return None
        if latest.sender_device == self.device.device_id or latest.sender not in self.participants:
            return latest.payload
        return None

    def send(self, payload: Payload) -> str:
        """Encrypt ``payload`` for the case's devices, post it and sync; its message id."""
        plaintext = encode_payload(payload)
        if len(plaintext) > MAX_PLAINTEXT:
            raise MessageTooLarge(
                "trop grand pour un message : envoyez-le par la messagerie Caducée / "
                "too large for a message: send it by Caducée mail"
            )
        with self.lock:
            if not self._synced:
                self.sync()  # learn the generations this device used before
            self.share_keys()
            ciphertext = self.cipher.encrypt(plaintext)
            message_id, _sequence = self._post(kind_of(payload), ciphertext)
            self._sent[message_id] = payload
            self.sync()  # the message is read back from the log, as everyone reads it
            return message_id

    # -- what a person does -------------------------------------------------------------------

    def entry(self, message_id: str) -> Entry:
        found = self.by_id.get(message_id)
        if found is None or found.kind != "message":
            raise UnknownCaseMessage("message introuvable / no such message")
        return found

    def _deleted(self, message_id: str) -> bool:
        return any(
            isinstance(e.payload, Deletion)
            and e.payload.target == message_id
            and e.sender == self.me
            for e in self.entries
        )

    def _own_editable(self, message_id: str) -> Entry:
        with self.lock:
            target = self.entry(message_id)
            if target.sender != self.me:
                raise NotYourMessage(
                    "seul son auteur modifie ou supprime un message / "
                    "only its author edits or deletes a message"
                )
            if not isinstance(target.payload, Text | Attachment) or self._deleted(message_id):
                raise UnknownCaseMessage(
                    "ce message ne peut plus être modifié / this message cannot be changed"
                )
            return target

    def say(self, text: str, reply_to: str | None = None) -> str:
        text = text.strip()
        if not text or len(text) > MAX_TEXT:
            raise InvalidCaseInput("texte vide ou trop long / empty or too long text")
        if reply_to:
            self.entry(reply_to)
        return self.send(Text(text, reply_to or None))

    def attach(
        self,
        name: str,
        media_type: str,
        data: bytes,
        *,
        caption: str | None = None,
        reply_to: str | None = None,
    ) -> str:
        """A photo (an image type shown inline) or a file."""
        if not data or len(data) > MAX_ATTACHMENT_BYTES:
            raise MessageTooLarge("fichier vide ou trop grand / empty or too large file")
        if reply_to:
            self.entry(reply_to)
        kind = "photo" if media_type in INLINE_IMAGE_TYPES else "file"
        payload = Attachment(
            kind,
            name.strip()[:200] or "document",
            media_type or "application/octet-stream",
            data,
            (caption or "").strip() or None,
            reply_to or None,
        )
        return self.send(payload)

    def edit(self, message_id: str, text: str) -> str:
        text = text.strip()
        if not text or len(text) > MAX_TEXT:
            raise InvalidCaseInput("texte vide ou trop long / empty or too long text")
        self._own_editable(message_id)
        return self.send(Edit(message_id, text))

    def delete(self, message_id: str) -> str:
        self._own_editable(message_id)
        return self.send(Deletion(message_id))

    def acknowledge(self) -> str:
        """ "Je m'en occupe" / "I'm handling it"."""
        return self.send(Acknowledgement())

    def my_read_up_to(self) -> int:
        """The last sequence this person said they read (from any of their devices)."""
        seen = 0
        for e in self.entries:
            if e.kind == "read" and e.sender == self.me:
                up_to = e.payload.up_to if isinstance(e.payload, Read) else e.sequence
                seen = max(seen, up_to)
        return seen

    def unread(self) -> int:
        """Messages from others after this person's last read receipt."""
        after = self.my_read_up_to()
        return sum(
            1
            for e in self.entries
            if e.kind == "message" and e.sender != self.me and e.sequence > after
        )

    def mark_read(self) -> bool:
        """Post a read receipt up to the last message from others, if it says something new."""
        with self.lock:
            others = [
                e.sequence for e in self.entries if e.kind == "message" and e.sender != self.me
            ]
            if not others or max(others) <= self.my_read_up_to():
                return False
            self.send(Read(max(others)))
            return True

    def patient(self) -> PatientCard | None:
        """The patient, from the first readable patient card."""
        for e in self.entries:
            if isinstance(e.payload, PatientCard):
                return e.payload
        return None

    def add_participants(self, addresses: list[str]) -> None:
        """Add people to the case and seal this device's chain to their devices at once (from
        its generation's start: they read what this device said in it, the card included)."""
        wanted = sorted({a.strip().lower() for a in addresses if a.strip()})
        if not wanted:
            raise InvalidCaseInput("indiquez qui ajouter / name whom to add")
        with self.lock:
            self.session.json(
                "POST", f"/cases/{self.case_id}/participants", json={"participants": wanted}
            )
            if not self._synced:
                self.sync()  # the card to carry, the generations used before
            self.share_keys()

    def remove_participant(self, address: str) -> None:
        """Remove someone from the case; the next message of every device rotates."""
        self.session.request("DELETE", f"/cases/{self.case_id}/participants/{address.lower()}")
        self.refresh()
