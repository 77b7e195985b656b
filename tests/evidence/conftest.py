"""A log on each engine, with a deterministic key and synthetic records (ids only)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from caducee.evidence import EvidenceLog, LogIdentity
from caducee.ledger import EvidenceEvent, EvidenceRecord
from caducee.store import Database

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


@pytest.fixture(scope="session")
def identity() -> LogIdentity:
    key = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"evidence test key").digest())
    return LogIdentity(ORIGIN, key)


@pytest.fixture
def log(database: Database, identity: LogIdentity) -> EvidenceLog:
    return EvidenceLog(database, identity)


async def fill(log: EvidenceLog, count: int, *, start: int = 0, tag: str = "") -> None:
    async with log.database.transaction() as session:
        await log.append_many(
            session, [make_record(i, tag=tag) for i in range(start, start + count)]
        )
