"""Receipts end to end: build, verify, and every tampering gives a precise typed error."""

import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from caducee.ledger.canonical_json import canonicalize
from caducee.ledger.checkpoint import Checkpoint, NoteVerifierKey, sign_checkpoint
from caducee.ledger.errors import (
    CheckpointSignatureInvalid,
    ConsistencyProofInvalid,
    ForkDetected,
    InclusionProofInvalid,
    LedgerError,
    MalformedReceipt,
    RecordSignatureInvalid,
    TimestampInvalid,
    WrongLog,
)
from caducee.ledger.merkle import InMemoryTree, consistency_proof, inclusion_proof
from caducee.ledger.receipt import (
    Receipt,
    checkpoint_digest,
    compare_checkpoints,
    verify_checkpoint_consistency,
    verify_receipt,
)
from caducee.ledger.records import sign_record
from caducee.ledger.timestamp import build_timestamp_request, token_from_response

from .conftest import LOG_NAME, make_record
from .tsa import TSA


class Log:
    """A toy log operator: the same calls the server makes, in memory."""

    def __init__(self, key: Ed25519PrivateKey, name: str = LOG_NAME, n: int = 11) -> None:
        self.key, self.name, self.tree, self.records = key, name, InMemoryTree(), []
        for i in range(n):
            self.add(i)

    def add(self, i: int) -> None:
        signed = sign_record(make_record(i), self.key)
        self.tree.append(signed.to_leaf_data())
        self.records.append(signed)

    def checkpoint(self, size: int | None = None) -> Checkpoint:
        size = self.tree.size if size is None else size
        return Checkpoint(self.name, size, self.tree.root(size))

    def receipt(self, index: int, tsa: TSA | None = None) -> Receipt:
        cp = self.checkpoint()
        token = None
        if tsa is not None:
            query, _ = build_timestamp_request(checkpoint_digest(cp))
            token = token_from_response(tsa.reply(query))
        return Receipt(
            record=self.records[index],
            leaf_index=index,
            tree_size=cp.size,
            inclusion_proof=tuple(inclusion_proof(self.tree, index, cp.size)),
            checkpoint=sign_checkpoint(cp, self.key, self.name),
            timestamp=token,
        )


@pytest.fixture(scope="module")
def log(log_key: Ed25519PrivateKey) -> Log:
    return Log(log_key)


@pytest.fixture(scope="module")
def vkey(log_key: Ed25519PrivateKey) -> NoteVerifierKey:
    return NoteVerifierKey.from_public_key(LOG_NAME, log_key.public_key())


@pytest.fixture(scope="module")
def stamped(log: Log, tsa: TSA) -> bytes:
    return log.receipt(4, tsa).to_bytes()


def test_every_receipt_verifies(log: Log, vkey: NoteVerifierKey) -> None:
    for i in range(log.tree.size):
        verified = verify_receipt(log.receipt(i).to_bytes(), log_key=vkey)
        assert verified.record == log.records[i].record
        assert verified.leaf_index == i
        assert verified.checkpoint.size == log.tree.size
        assert verified.timestamp is None


def test_timestamped_receipt(stamped: bytes, vkey: NoteVerifierKey, tsa: TSA) -> None:
    verified = verify_receipt(stamped, log_key=vkey, tsa_roots=[tsa.root], require_timestamp=True)
    assert verified.timestamp is not None
    assert verified.timestamp.hashed_message == checkpoint_digest(verified.checkpoint)
    with pytest.raises(TimestampInvalid, match="no TSA root"):
        verify_receipt(stamped, log_key=vkey, require_timestamp=True)


def test_required_timestamp_missing(log: Log, vkey: NoteVerifierKey, tsa: TSA) -> None:
    with pytest.raises(TimestampInvalid, match="has none"):
        verify_receipt(
            log.receipt(0).to_bytes(), log_key=vkey, tsa_roots=[tsa.root], require_timestamp=True
        )


def _mutated(receipt: bytes, path: tuple, value: object) -> bytes:
    d = json.loads(receipt)
    target = d
    for p in path[:-1]:
        target = target[p]
    target[path[-1]] = value
    return canonicalize(d)


def _flip_b64(s: str) -> str:
    raw = bytearray(base64.b64decode(s))
    raw[len(raw) // 2] ^= 1
    return base64.b64encode(bytes(raw)).decode()


TAMPERINGS = [
    (("format",), "caducee-receipt/2", MalformedReceipt),
    (("leaf_index",), 5, InclusionProofInvalid),
    (("leaf_index",), -1, MalformedReceipt),
    (("leaf_index",), "4", MalformedReceipt),
    (("leaf_index",), True, MalformedReceipt),
    (("tree_size",), 12, InclusionProofInvalid),
    (("tree_size",), 10, InclusionProofInvalid),
    (("inclusion_proof", 0), "flip", InclusionProofInvalid),
    (("inclusion_proof",), [], InclusionProofInvalid),
    (("inclusion_proof", 0), "AAAA", MalformedReceipt),
    (("record", "record", "message_id"), "<other@caducee.test>", RecordSignatureInvalid),
    (("record", "record", "event"), "ContentHandover", RecordSignatureInvalid),
    (("record", "record", "time"), "2026-01-02T03:04:06Z", RecordSignatureInvalid),
    (("record", "record", "ciphertext_sha256"), "0" * 64, RecordSignatureInvalid),
    (("record", "record", "recipients"), [], RecordSignatureInvalid),
    (("record", "record", "extra"), {}, RecordSignatureInvalid),
    (("record", "sig"), "flip", RecordSignatureInvalid),
    (("record", "record", "event"), "Bogus", MalformedReceipt),
    (("record", "alg"), "RS256", MalformedReceipt),
    (("checkpoint",), "flip-size", CheckpointSignatureInvalid),
    (("checkpoint",), "flip-sig", CheckpointSignatureInvalid),
    (("checkpoint",), "truncate", LedgerError),
    (("checkpoint",), 3, MalformedReceipt),
    (("timestamp",), "flip", TimestampInvalid),
    (("timestamp",), "not base64!", MalformedReceipt),
    (("surplus",), 1, MalformedReceipt),
]


@pytest.mark.parametrize(("path", "value", "error"), TAMPERINGS, ids=lambda x: str(x))
def test_tampering_gives_a_typed_error(
    stamped: bytes, vkey: NoteVerifierKey, tsa: TSA, path: tuple, value: object, error: type
) -> None:
    d = json.loads(stamped)
    current = d
    for p in path[:-1]:
        current = current[p]
    if value == "flip":
        value = _flip_b64(current[path[-1]])
    elif value == "flip-size":
        value = d["checkpoint"].replace("\n11\n", "\n12\n")
    elif value == "flip-sig":
        body, _, sig_line = d["checkpoint"].rstrip("\n").rpartition("\n")
        name, sig = sig_line.rsplit(" ", 1)
        value = f"{body}\n{name} {_flip_b64(sig)}\n"
    elif value == "truncate":
        value = d["checkpoint"][:-10]
    tampered = _mutated(stamped, path, value)
    with pytest.raises(error):
        verify_receipt(tampered, log_key=vkey, tsa_roots=[tsa.root])


@pytest.mark.parametrize("cut", [0, 1, 10, 100, -1, -2])
def test_truncated_receipt(stamped: bytes, vkey: NoteVerifierKey, cut: int) -> None:
    with pytest.raises(MalformedReceipt):
        verify_receipt(stamped[:cut], log_key=vkey)


def test_resigned_by_another_key(other_key: Ed25519PrivateKey, vkey: NoteVerifierKey) -> None:
    forged = Log(other_key).receipt(3).to_bytes()
    with pytest.raises(CheckpointSignatureInvalid):
        verify_receipt(forged, log_key=vkey)


def test_record_signed_by_another_key(
    log: Log, other_key: Ed25519PrivateKey, vkey: NoteVerifierKey
) -> None:
    r = log.receipt(2)
    forged = Receipt(sign_record(r.record.record, other_key), *list(r.__dict__.values())[1:])
    with pytest.raises(RecordSignatureInvalid):
        verify_receipt(forged.to_bytes(), log_key=vkey)


def test_another_log(log_key: Ed25519PrivateKey, vkey: NoteVerifierKey) -> None:
    other = Log(log_key, name="other.caducee.test/log9", n=3)
    with pytest.raises(WrongLog):
        verify_receipt(other.receipt(1).to_bytes(), log_key=vkey)


def test_record_not_in_the_tree(
    log: Log, log_key: Ed25519PrivateKey, vkey: NoteVerifierKey
) -> None:
    r = log.receipt(2)
    outsider = sign_record(make_record(99), log_key)  # validly signed, never appended
    forged = Receipt(outsider, *list(r.__dict__.values())[1:])
    with pytest.raises(InclusionProofInvalid):
        verify_receipt(forged.to_bytes(), log_key=vkey)


def test_timestamp_of_another_checkpoint(log: Log, vkey: NoteVerifierKey, tsa: TSA) -> None:
    old = log.receipt(1, tsa)
    newer = Log(log.key, n=12).receipt(1)
    mixed = Receipt(*list(newer.__dict__.values())[:5], timestamp=old.timestamp)
    with pytest.raises(TimestampInvalid, match="another digest"):
        verify_receipt(mixed.to_bytes(), log_key=vkey, tsa_roots=[tsa.root])


def test_consistency_between_checkpoints(log_key: Ed25519PrivateKey) -> None:
    log = Log(log_key, n=5)
    old = log.checkpoint()
    for i in range(5, 13):
        log.add(i)
    new = log.checkpoint()
    proof = consistency_proof(log.tree, old.size, new.size)
    verify_checkpoint_consistency(old, new, proof)
    verify_checkpoint_consistency(old, old, [])
    with pytest.raises(ConsistencyProofInvalid, match="shrank"):
        verify_checkpoint_consistency(new, old, proof)
    rewritten = Log(log_key, n=0)
    for i in [0, 1, 2, 3, 99, *range(5, 13)]:
        rewritten.add(i)
    with pytest.raises(ConsistencyProofInvalid):
        verify_checkpoint_consistency(
            old, rewritten.checkpoint(), consistency_proof(rewritten.tree, 5, 13)
        )
    with pytest.raises(WrongLog):
        verify_checkpoint_consistency(old, Checkpoint("x/y", 13, new.root_hash), proof)


def test_fork_detection(log: Log) -> None:
    a = log.checkpoint(5)
    compare_checkpoints(a, log.checkpoint(5))
    compare_checkpoints(a, log.checkpoint(7))
    with pytest.raises(ForkDetected, match="two different roots for size 5"):
        compare_checkpoints(a, Checkpoint(a.origin, 5, log.tree.root(6)))
    with pytest.raises(ForkDetected):
        verify_checkpoint_consistency(a, Checkpoint(a.origin, 5, log.tree.root(6)), [])
