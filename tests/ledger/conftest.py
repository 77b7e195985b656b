"""Shared fixtures of the ledger tests: deterministic keys, records, a small log."""

import hashlib
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from caducee.ledger.records import EvidenceEvent, EvidenceRecord

LOG_NAME = "ledger.caducee.test/log1"


def make_record(i: int = 0, previous: str | None = None) -> EvidenceRecord:
    return EvidenceRecord(
        event=EvidenceEvent.CONTENT_CONSIGNMENT,
        message_id=f"<msg-{i}@caducee.test>",
        ciphertext_sha256=hashlib.sha256(f"ciphertext {i}".encode()).hexdigest(),
        actor_id="server",
        time=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        sender_id="rpps:10000000001",
        recipient_ids=("rpps:10000000002",),
        previous_record_sha256=previous,
        extra={"mailbox": "inbox"},
    )


@pytest.fixture(scope="session")
def log_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"caducee test log key").digest())


@pytest.fixture(scope="session")
def other_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"another key").digest())


@pytest.fixture(scope="session")
def tsa(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from .tsa import make_tsa

    return make_tsa(tmp_path_factory.mktemp("tsa"))
