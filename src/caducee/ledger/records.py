"""Evidence records: one per event, named after ETSI EN 319 522-2 evidence events.

A record is RFC 8785 canonical JSON; the server signs ``DOMAIN || canonical bytes`` with
Ed25519 (RFC 8032); the Merkle leaf (RFC 9162 §2.1.1) is the canonical JSON of the signed
record. Records hold ids and digests only, never content.
"""

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from types import MappingProxyType
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from caducee.ledger.canonical_json import canonicalize
from caducee.ledger.errors import MalformedRecord, RecordSignatureInvalid
from caducee.ledger.merkle import leaf_hash

__all__ = [
    "RECORD_VERSION",
    "SIGNATURE_DOMAIN",
    "EvidenceEvent",
    "EvidenceRecord",
    "SignedRecord",
    "format_time",
    "parse_time",
    "sign_record",
    "verify_record",
]

RECORD_VERSION = "caducee-evidence/1"
SIGNATURE_DOMAIN = b"caducee-evidence/1 signature\n"  # keeps these signatures for this use only
MAX_EXTRA = 16
MAX_TEXT = 1024
_JCS_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)
_HEX64 = re.compile(r"[0-9a-f]{64}")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z")
_FIELDS = {
    "v", "event", "message_id", "ciphertext_sha256", "actor", "sender", "recipients",
    "time", "previous", "extra",
}  # fmt: skip


class EvidenceEvent(Enum):
    """ETSI EN 319 522-2 event names (plus ours for the CA, the charter, prescriptions, MISS)."""

    SUBMISSION_ACCEPTANCE = "SubmissionAcceptance"
    SUBMISSION_REJECTION = "SubmissionRejection"
    CONTENT_CONSIGNMENT = "ContentConsignment"
    CONTENT_HANDOVER = "ContentHandover"
    CONSIGNMENT_ACCEPTANCE = "ConsignmentAcceptance"
    RELAY_TO_EXTERNAL = "RelayToExternal"
    RECEIVED_FROM_EXTERNAL = "ReceivedFromExternal"
    CERTIFICATE_ISSUED = "CertificateIssued"
    CERTIFICATE_REVOKED = "CertificateRevoked"
    CHARTER_SIGNED = "CharterSigned"
    MODERATION_DECISION = "ModerationDecision"
    PRESCRIPTION_TRANSITION = "PrescriptionTransition"
    # MISS (instant messaging): device keys, and the routing of a case to a role, its
    # escalation, and what stopped it (an acknowledgement, or a read receipt: ``CaseRead``).
    DEVICE_REGISTERED = "DeviceRegistered"
    DEVICE_REVOKED = "DeviceRevoked"
    CASE_ROUTED = "CaseRouted"
    CASE_ESCALATED = "CaseEscalated"
    CASE_ACKNOWLEDGED = "CaseAcknowledged"
    CASE_READ = "CaseRead"


def format_time(t: datetime) -> str:
    """RFC 3339 UTC with ``Z``; microseconds only when not zero (one spelling per instant)."""
    if t.tzinfo is None:
        raise MalformedRecord("the time has no time zone")
    # isoformat() leaves microseconds out exactly when they are zero, and pads the year.
    return t.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


def parse_time(s: str) -> datetime:
    """The inverse of :func:`format_time`; any other spelling is refused."""
    if not isinstance(s, str) or not _TIME.fullmatch(s):
        raise MalformedRecord(f"time {s!r} is not RFC 3339 UTC (YYYY-MM-DDTHH:MM:SS[.ffffff]Z)")
    try:
        t = datetime.fromisoformat(s[:-1]).replace(tzinfo=UTC)
    except ValueError as exc:
        raise MalformedRecord(f"time {s!r} is not a valid date") from exc
    if format_time(t) != s:
        raise MalformedRecord(f"time {s!r} is not in its canonical spelling")
    return t


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_TEXT:
        raise MalformedRecord(f"{what} must be a non-empty string of at most {MAX_TEXT} chars")
    return value


def _hex_digest(value: object, what: str) -> str:
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise MalformedRecord(f"{what} must be 64 lowercase hexadecimal digits")
    return value


@dataclass(frozen=True)
class EvidenceRecord:
    """One event about one message (or certificate, charter, prescription)."""

    event: EvidenceEvent
    message_id: str
    ciphertext_sha256: str
    actor_id: str
    time: datetime
    sender_id: str | None = None
    recipient_ids: tuple[str, ...] = ()
    previous_record_sha256: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.event, EvidenceEvent):
            raise MalformedRecord(f"event {self.event!r} is not an EvidenceEvent")
        _text(self.message_id, "message_id")
        _hex_digest(self.ciphertext_sha256, "ciphertext_sha256")
        _text(self.actor_id, "actor_id")
        if self.sender_id is not None:
            _text(self.sender_id, "sender_id")
        if not isinstance(self.recipient_ids, tuple):
            raise MalformedRecord("recipient_ids must be a tuple")
        for r in self.recipient_ids:
            _text(r, "a recipient id")
        if self.previous_record_sha256 is not None:
            _hex_digest(self.previous_record_sha256, "previous_record_sha256")
        if not isinstance(self.extra, Mapping) or len(self.extra) > MAX_EXTRA:
            raise MalformedRecord(f"extra must be a mapping of at most {MAX_EXTRA} entries")
        for k, v in self.extra.items():
            _text(k, "an extra name")
            if not isinstance(v, str) or len(v) > MAX_TEXT:
                raise MalformedRecord(f"extra value of {k!r} must be a string")
        if not isinstance(self.time, datetime):
            raise MalformedRecord("time must be a datetime")
        format_time(self.time)
        object.__setattr__(self, "extra", MappingProxyType(dict(self.extra)))

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "v": RECORD_VERSION,
            "event": self.event.value,
            "message_id": self.message_id,
            "ciphertext_sha256": self.ciphertext_sha256,
            "actor": self.actor_id,
            "sender": self.sender_id,
            "recipients": list(self.recipient_ids),
            "time": format_time(self.time),
            "previous": self.previous_record_sha256,
            "extra": dict(self.extra),
        }

    @classmethod
    def from_json_dict(cls, d: object) -> "EvidenceRecord":
        """Read a record; unknown or missing members are refused."""
        if not isinstance(d, dict) or set(d) != _FIELDS:
            raise MalformedRecord("a record must be an object with exactly the v1 members")
        if d["v"] != RECORD_VERSION:
            raise MalformedRecord(f"record version {d['v']!r} is not {RECORD_VERSION!r}")
        try:
            event = EvidenceEvent(d["event"])
        except ValueError as exc:
            raise MalformedRecord(f"unknown event {d['event']!r}") from exc
        if not isinstance(d["recipients"], list) or not isinstance(d["extra"], dict):
            raise MalformedRecord("recipients must be a list and extra an object")
        return cls(
            event=event,
            message_id=d["message_id"],
            ciphertext_sha256=d["ciphertext_sha256"],
            actor_id=d["actor"],
            time=parse_time(d["time"]),
            sender_id=d["sender"],
            recipient_ids=tuple(d["recipients"]),
            previous_record_sha256=d["previous"],
            extra=d["extra"],
        )

    def to_canonical_bytes(self) -> bytes:
        """RFC 8785 canonical JSON of the record.

        A record holds only strings, a list of strings, a string map and null, which the C
        JSON encoder writes exactly as RFC 8785 does (sorted names, the same escapes, UTF-8
        verbatim) when every name sorts the same by code point as by UTF-16 code unit (no
        character from U+D800 up); otherwise, or for a lone surrogate, the general writer
        decides. The relay signs two records per message: this is its hot path, and a record
        is frozen, so its bytes are kept once computed (the relay digests a message's first
        record for the next one's ``previous``, then signs it).
        """
        kept: bytes | None = self.__dict__.get("_canonical")
        if kept is None:
            kept = self._canonical_bytes()
            object.__setattr__(self, "_canonical", kept)
        return kept

    def _canonical_bytes(self) -> bytes:
        value = self.to_json_dict()
        if all(not name or max(name) < "\ud800" for name in self.extra):
            try:
                return _JCS_ENCODER.encode(value).encode("utf-8")
            except UnicodeEncodeError:
                pass  # a lone surrogate: canonicalize refuses it with its reason
        return canonicalize(value)

    def record_digest(self) -> str:
        """SHA-256 (hex) of the canonical bytes; the next record's ``previous``."""
        return hashlib.sha256(self.to_canonical_bytes()).hexdigest()


@dataclass(frozen=True)
class SignedRecord:
    """A record and the server's Ed25519 signature over ``SIGNATURE_DOMAIN || canonical``."""

    record: EvidenceRecord
    signature: bytes

    def to_json_dict(self) -> dict[str, Any]:
        sig = base64.b64encode(self.signature).decode("ascii")
        return {"record": self.record.to_json_dict(), "alg": "Ed25519", "sig": sig}

    @classmethod
    def from_json_dict(cls, d: object) -> "SignedRecord":
        if not isinstance(d, dict) or set(d) != {"record", "alg", "sig"}:
            raise MalformedRecord("a signed record must have exactly record, alg and sig")
        if d["alg"] != "Ed25519":
            raise MalformedRecord(f"signature algorithm {d['alg']!r} is not Ed25519")
        if not isinstance(d["sig"], str):
            raise MalformedRecord("sig must be base64 text")
        try:
            sig = base64.b64decode(d["sig"], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MalformedRecord("sig is not valid base64") from exc
        if len(sig) != 64 or base64.b64encode(sig).decode() != d["sig"]:
            raise MalformedRecord("sig must be the canonical base64 of 64 bytes")
        return cls(EvidenceRecord.from_json_dict(d["record"]), sig)

    def to_leaf_data(self) -> bytes:
        """The Merkle leaf data: canonical JSON of the signed record."""
        return canonicalize(self.to_json_dict())

    def leaf_hash(self) -> bytes:
        """RFC 9162 §2.1.1 leaf hash of :meth:`to_leaf_data`."""
        return leaf_hash(self.to_leaf_data())


def sign_record(record: EvidenceRecord, key: Ed25519PrivateKey) -> SignedRecord:
    """Sign a record with the ledger's Ed25519 key (RFC 8032, deterministic)."""
    return SignedRecord(record, key.sign(SIGNATURE_DOMAIN + record.to_canonical_bytes()))


def verify_record(signed: SignedRecord, public_key: Ed25519PublicKey) -> EvidenceRecord:
    """Return the record, or raise :class:`RecordSignatureInvalid`."""
    try:
        public_key.verify(signed.signature, SIGNATURE_DOMAIN + signed.record.to_canonical_bytes())
    except InvalidSignature:
        raise RecordSignatureInvalid(
            f"the {signed.record.event.value} record of {signed.record.message_id!r} "
            "is not signed by the ledger key"
        ) from None
    return signed.record
