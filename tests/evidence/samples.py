"""Synthetic evidence records (ids and digests only) and the tests' log key."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from caducee.ledger import EvidenceEvent, EvidenceRecord

__all__ = ["ORIGIN", "T0", "identity_key", "make_record"]

ORIGIN = "caducee.test/caducee-log"
T0 = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)


def make_record(i: int, *, message: str | None = None, tag: str = "") -> EvidenceRecord:
    return EvidenceRecord(
        event=EvidenceEvent.SUBMISSION_ACCEPTANCE,
        message_id=message or f"msg-{i}@caducee.test",
        ciphertext_sha256=hashlib.sha256(f"ciphertext {tag}{i}".encode()).hexdigest(),
        actor_id="relay",
        time=T0 + timedelta(seconds=i),
        sender_id="lab@caducee.test",
        recipient_ids=("gp@caducee.test",),
    )


def identity_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"evidence test key").digest())
