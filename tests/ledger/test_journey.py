"""Journey files: every receipt verifies, and together they tell one message's whole story."""

import dataclasses
import hashlib
import json
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from caducee.ledger import EvidenceEvent, EvidenceRecord, NoteVerifierKey
from caducee.ledger.canonical_json import canonicalize
from caducee.ledger.checkpoint import Checkpoint, sign_checkpoint
from caducee.ledger.errors import LedgerError, MalformedReceipt
from caducee.ledger.journey import (
    JourneyBroken,
    is_journey,
    make_journey,
    signed_acknowledgements,
    verify_journey,
)
from caducee.ledger.merkle import InMemoryTree, inclusion_proof
from caducee.ledger.receipt import Receipt
from caducee.ledger.records import sign_record

from .conftest import LOG_NAME

SHA = hashlib.sha256(b"ciphertext").hexdigest()
ACK = b"the DER of a signed acknowledgement"


def story(message_id: str = "m-1") -> list[EvidenceRecord]:
    """Acceptance → consignment → handover → signed acceptance, chained by ``previous``."""
    when = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
    steps = [
        (EvidenceEvent.SUBMISSION_ACCEPTANCE, "lab@x.test", {}),
        (EvidenceEvent.CONTENT_CONSIGNMENT, "relay", {}),
        (EvidenceEvent.CONTENT_HANDOVER, "gp@x.test", {}),
        (
            EvidenceEvent.CONSIGNMENT_ACCEPTANCE,
            "gp@x.test",
            {"signed": "yes", "ack_sha256": hashlib.sha256(ACK).hexdigest()},
        ),
    ]
    records: list[EvidenceRecord] = []
    for event, actor, extra in steps:
        records.append(
            EvidenceRecord(
                event=event,
                message_id=message_id,
                ciphertext_sha256=SHA,
                actor_id=actor,
                time=when,
                sender_id="lab@x.test",
                recipient_ids=("gp@x.test",),
                previous_record_sha256=records[-1].record_digest() if records else None,
                extra=extra,
            )
        )
    return records


def receipts(key: Ed25519PrivateKey, records: list[EvidenceRecord]) -> list[dict[str, object]]:
    tree, signed = InMemoryTree(), [sign_record(r, key) for r in records]
    for s in signed:
        tree.append(s.to_leaf_data())
    checkpoint = Checkpoint(LOG_NAME, tree.size, tree.root(tree.size))
    note = sign_checkpoint(checkpoint, key, LOG_NAME)
    return [
        Receipt(
            s, i, tree.size, tuple(inclusion_proof(tree, i, tree.size)), note, None
        ).to_json_dict()
        for i, s in enumerate(signed)
    ]


@pytest.fixture
def vkey(log_key: Ed25519PrivateKey) -> NoteVerifierKey:
    return NoteVerifierKey.from_public_key(LOG_NAME, log_key.public_key())


def test_a_whole_journey_verifies(log_key: Ed25519PrivateKey, vkey: NoteVerifierKey) -> None:
    data = make_journey("m-1", receipts(log_key, story()), [ACK])
    assert is_journey(data) and not is_journey(b"{}") and not is_journey(b"junk")
    journey = verify_journey(data, log_key=vkey)
    assert [s.record.event for s in journey.steps] == [r.event for r in story()]
    [(step, der)] = signed_acknowledgements(journey)
    assert der == ACK and step.record.event is EvidenceEvent.CONSIGNMENT_ACCEPTANCE


@pytest.mark.parametrize(
    ("tamper", "error", "reason"),
    [
        (lambda v: v["receipts"].pop(1), JourneyBroken, "lacks"),
        (lambda v: v["receipts"].pop(0), JourneyBroken, "lacks"),
        (lambda v: v.update(message_id="m-2"), JourneyBroken, "names"),
        (lambda v: v.update(receipts=[]), MalformedReceipt, "1 to"),
        (lambda v: v.update(format="caducee-journey/0"), MalformedReceipt, "not a"),
        (lambda v: v.update(acknowledgements=["%%"]), MalformedReceipt, "base64"),
    ],
)
def test_a_tampered_journey_is_refused_with_its_reason(
    log_key: Ed25519PrivateKey,
    vkey: NoteVerifierKey,
    tamper: object,
    error: type[LedgerError],
    reason: str,
) -> None:
    value = json.loads(make_journey("m-1", receipts(log_key, story()), [ACK]))
    tamper(value)  # type: ignore[operator]
    with pytest.raises(error, match=reason):
        verify_journey(canonicalize(value), log_key=vkey)


def test_records_of_another_message_do_not_pass(
    log_key: Ed25519PrivateKey, vkey: NoteVerifierKey
) -> None:
    mine, theirs = story("m-1"), story("m-2")
    mixed = receipts(
        log_key,
        [*mine[:2], dataclasses.replace(theirs[2], previous_record_sha256=mine[1].record_digest())],
    )
    with pytest.raises(JourneyBroken, match="another message"):
        verify_journey(make_journey("m-1", mixed, []), log_key=vkey)


def test_a_missing_signed_acknowledgement_is_named(
    log_key: Ed25519PrivateKey, vkey: NoteVerifierKey
) -> None:
    journey = verify_journey(make_journey("m-1", receipts(log_key, story()), []), log_key=vkey)
    with pytest.raises(JourneyBroken, match="not in the journey"):
        signed_acknowledgements(journey)


def test_a_journey_that_does_not_start_with_the_acceptance_is_refused(
    log_key: Ed25519PrivateKey, vkey: NoteVerifierKey
) -> None:
    records = story()
    first = dataclasses.replace(records[1], previous_record_sha256=None)
    with pytest.raises(JourneyBroken, match="starts with"):
        verify_journey(make_journey("m-1", receipts(log_key, [first]), []), log_key=vkey)


def test_a_receipt_signed_by_another_key_fails_the_journey(
    log_key: Ed25519PrivateKey, other_key: Ed25519PrivateKey, vkey: NoteVerifierKey
) -> None:
    with pytest.raises(LedgerError):
        verify_journey(make_journey("m-1", receipts(other_key, story()), [ACK]), log_key=vkey)
