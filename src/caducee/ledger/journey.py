"""A message's journey: every receipt of one message, checked together, offline.

A journey file (``caducee-journey/1``) holds the receipts of one message's records and the
recipients' signed acknowledgements. Each receipt is verified on its own
(:func:`verify_receipt`); together they must be about one message and one ciphertext, and
each record's ``previous`` must be the digest of a record shown before it, so that no step
can be left out or taken from another message without it being seen. Checking the signed
acknowledgements needs CMS: the caller does it with the digests this module hands back.
"""

import base64
import binascii
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from caducee.ledger.canonical_json import canonicalize, loads_strict
from caducee.ledger.checkpoint import NoteVerifierKey
from caducee.ledger.errors import LedgerError, MalformedReceipt
from caducee.ledger.receipt import VerifiedReceipt, verify_receipt
from caducee.ledger.records import EvidenceEvent

__all__ = [
    "JOURNEY_FORMAT",
    "JourneyBroken",
    "VerifiedJourney",
    "is_journey",
    "make_journey",
    "signed_acknowledgements",
    "verify_journey",
]

JOURNEY_FORMAT = "caducee-journey/1"
MAX_STEPS = 1000


class JourneyBroken(MalformedReceipt):
    """The receipts verify one by one but do not tell one message's story."""

    code = "ledger-journey-broken"


@dataclass(frozen=True)
class VerifiedJourney:
    """Verified receipts in log order, and the signed acknowledgements to check (DER)."""

    message_id: str
    ciphertext_sha256: str
    steps: tuple[VerifiedReceipt, ...]
    acknowledgements: dict[str, bytes]  # SHA-256 hex of the DER → DER


def make_journey(
    message_id: str, receipts: Sequence[dict[str, Any]], acknowledgements: Sequence[bytes]
) -> bytes:
    """The canonical bytes of a journey file."""
    return canonicalize(
        {
            "format": JOURNEY_FORMAT,
            "message_id": message_id,
            "receipts": list(receipts),
            "acknowledgements": [base64.b64encode(a).decode("ascii") for a in acknowledgements],
        }
    )


def verify_journey(
    data: bytes,
    *,
    log_key: NoteVerifierKey,
    tsa_roots: Sequence[x509.Certificate] = (),
    require_timestamp: bool = False,
) -> VerifiedJourney:
    """Verify every receipt, then that they chain into one message's journey."""
    value = loads_strict(data)
    if not isinstance(value, dict) or value.get("format") != JOURNEY_FORMAT:
        raise MalformedReceipt(f"not a {JOURNEY_FORMAT} file")
    receipts, acks = value.get("receipts"), value.get("acknowledgements", [])
    if not isinstance(receipts, list) or not receipts or len(receipts) > MAX_STEPS:
        raise MalformedReceipt(f"a journey holds 1 to {MAX_STEPS} receipts")
    if not isinstance(acks, list) or not all(isinstance(a, str) for a in acks):
        raise MalformedReceipt("acknowledgements must be a list of base64 strings")
    steps = sorted(
        (
            verify_receipt(
                canonicalize(r),
                log_key=log_key,
                tsa_roots=tsa_roots,
                require_timestamp=require_timestamp,
            )
            for r in receipts
        ),
        key=lambda step: step.leaf_index,
    )
    first = steps[0].record
    if first.message_id != value.get("message_id"):
        raise JourneyBroken("the receipts are not about the message the journey names")
    seen: set[str] = set()
    for step in steps:
        record = step.record
        if (record.message_id, record.ciphertext_sha256) != (
            first.message_id,
            first.ciphertext_sha256,
        ):
            raise JourneyBroken(f"record {step.leaf_index} is about another message or ciphertext")
        if record.previous_record_sha256 is not None and record.previous_record_sha256 not in seen:
            raise JourneyBroken(f"record {step.leaf_index} follows a record the journey lacks")
        seen.add(record.record_digest())
    opening = next(
        (s.record.event for s in steps if s.record.event is not EvidenceEvent.MODERATION_DECISION),
        None,
    )  # a held message's journey opens with the moderator's release
    if opening not in (EvidenceEvent.SUBMISSION_ACCEPTANCE, EvidenceEvent.RECEIVED_FROM_EXTERNAL):
        raise JourneyBroken("a journey starts with the message's acceptance")
    decoded: dict[str, bytes] = {}
    for text in acks:
        try:
            der = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise MalformedReceipt("an acknowledgement is not base64") from None
        decoded[hashlib.sha256(der).hexdigest()] = der
    return VerifiedJourney(first.message_id, first.ciphertext_sha256, tuple(steps), decoded)


def signed_acknowledgements(journey: VerifiedJourney) -> list[tuple[VerifiedReceipt, bytes]]:
    """Each signed ``ConsignmentAcceptance`` with its acknowledgement; a missing one fails."""
    found = []
    for step in journey.steps:
        record = step.record
        if record.event is not EvidenceEvent.CONSIGNMENT_ACCEPTANCE:
            continue
        digest = record.extra.get("ack_sha256")
        if digest is None:
            continue
        der = journey.acknowledgements.get(digest)
        if der is None:
            raise JourneyBroken(
                f"the signed acknowledgement of record {step.leaf_index} is not in the journey"
            )
        found.append((step, der))
    return found


def is_journey(data: bytes) -> bool:
    """Whether ``data`` looks like a journey file (rather than a single receipt)."""
    try:
        value = loads_strict(data)
    except LedgerError:
        return False
    return isinstance(value, dict) and value.get("format") == JOURNEY_FORMAT
