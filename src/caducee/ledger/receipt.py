"""Receipts: a signed record, its RFC 9162 inclusion proof and the signed checkpoint.

Wire form: RFC 8785 canonical JSON, ``"format": "caducee-receipt/1"``. The optional RFC 3161
token time-stamps SHA-256 of the checkpoint text (the note body the log signed).
"""

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from caducee.ledger.canonical_json import canonicalize, loads_strict
from caducee.ledger.checkpoint import Checkpoint, NoteVerifierKey, verify_checkpoint
from caducee.ledger.errors import (
    ConsistencyProofInvalid,
    ForkDetected,
    InclusionProofInvalid,
    MalformedInput,
    MalformedReceipt,
    TimestampInvalid,
    WrongLog,
)
from caducee.ledger.merkle import HASH_SIZE, verify_consistency, verify_inclusion
from caducee.ledger.records import EvidenceRecord, SignedRecord, verify_record
from caducee.ledger.timestamp import TimestampInfo, verify_timestamp

__all__ = [
    "MAX_RECEIPT_BYTES",
    "RECEIPT_FORMAT",
    "Receipt",
    "VerifiedReceipt",
    "checkpoint_digest",
    "compare_checkpoints",
    "parse_receipt",
    "verify_checkpoint_consistency",
    "verify_receipt",
]

RECEIPT_FORMAT = "caducee-receipt/1"
MAX_RECEIPT_BYTES = 256 * 1024
MAX_PROOF = 64  # a tree of 2**63 leaves has a path of 63 hashes
_MEMBERS = {"format", "record", "leaf_index", "tree_size", "inclusion_proof", "checkpoint"}


def checkpoint_digest(checkpoint: Checkpoint) -> bytes:
    """SHA-256 of the checkpoint text: the message imprint a TSA time-stamps."""
    return hashlib.sha256(checkpoint.to_text().encode("utf-8")).digest()


@dataclass(frozen=True)
class Receipt:
    """What a user keeps as evidence that a record is in the log."""

    record: SignedRecord
    leaf_index: int
    tree_size: int
    inclusion_proof: tuple[bytes, ...]
    checkpoint: str  # the signed note
    timestamp: bytes | None = None  # DER RFC 3161 TimeStampToken

    def to_json_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "format": RECEIPT_FORMAT,
            "record": self.record.to_json_dict(),
            "leaf_index": self.leaf_index,
            "tree_size": self.tree_size,
            "inclusion_proof": [base64.b64encode(h).decode("ascii") for h in self.inclusion_proof],
            "checkpoint": self.checkpoint,
        }
        if self.timestamp is not None:
            d["timestamp"] = base64.b64encode(self.timestamp).decode("ascii")
        return d

    def to_bytes(self) -> bytes:
        return canonicalize(self.to_json_dict())


def _b64(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise MalformedReceipt(f"{what} must be base64 text")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedReceipt(f"{what} is not valid base64") from exc
    if base64.b64encode(raw).decode("ascii") != value:
        raise MalformedReceipt(f"{what} is not canonical base64")
    return raw


def _count(value: object, what: str) -> int:
    if type(value) is not int or value < 0:
        raise MalformedReceipt(f"{what} must be a non-negative integer")
    return value


def parse_receipt(data: bytes) -> Receipt:
    """Read a receipt; truncated, mistyped or unknown input raises :class:`MalformedReceipt`."""
    if not isinstance(data, bytes) or len(data) > MAX_RECEIPT_BYTES:
        raise MalformedReceipt(f"a receipt is at most {MAX_RECEIPT_BYTES} bytes")
    try:
        d = loads_strict(data)
    except MalformedInput as exc:
        raise MalformedReceipt(f"the receipt is not JSON: {exc.reason}") from exc
    if not isinstance(d, dict) or not _MEMBERS <= set(d) <= {*_MEMBERS, "timestamp"}:
        raise MalformedReceipt("the receipt does not have the members of caducee-receipt/1")
    if d["format"] != RECEIPT_FORMAT:
        raise MalformedReceipt(f"receipt format {d['format']!r} is not {RECEIPT_FORMAT!r}")
    try:
        record = SignedRecord.from_json_dict(d["record"])
    except MalformedInput as exc:
        raise MalformedReceipt(f"the receipt's record is malformed: {exc.reason}") from exc
    proof = d["inclusion_proof"]
    if not isinstance(proof, list) or len(proof) > MAX_PROOF:
        raise MalformedReceipt(f"inclusion_proof must be a list of at most {MAX_PROOF} hashes")
    hashes = tuple(_b64(h, "an inclusion proof hash") for h in proof)
    if any(len(h) != HASH_SIZE for h in hashes):
        raise MalformedReceipt(f"an inclusion proof hash is not {HASH_SIZE} bytes")
    if not isinstance(d["checkpoint"], str):
        raise MalformedReceipt("checkpoint must be the signed note text")
    token = d.get("timestamp")
    return Receipt(
        record=record,
        leaf_index=_count(d["leaf_index"], "leaf_index"),
        tree_size=_count(d["tree_size"], "tree_size"),
        inclusion_proof=hashes,
        checkpoint=d["checkpoint"],
        timestamp=None if token is None else _b64(token, "timestamp"),
    )


@dataclass(frozen=True)
class VerifiedReceipt:
    """A receipt whose every part verified; ``timestamp`` only if a TSA root was given."""

    record: EvidenceRecord
    leaf_index: int
    checkpoint: Checkpoint
    timestamp: TimestampInfo | None


def verify_receipt(
    receipt: bytes,
    *,
    log_key: NoteVerifierKey,
    origin: str | None = None,
    record_key: Ed25519PublicKey | None = None,
    tsa_roots: Sequence[x509.Certificate] = (),
    require_timestamp: bool = False,
) -> VerifiedReceipt:
    """Verify all of a receipt; raise a :class:`LedgerError` naming the first failure.

    Records are signed by ``record_key`` (default: the log key). A time-stamp is verified
    when ``tsa_roots`` are given, and ignored otherwise unless ``require_timestamp``.
    """
    r = parse_receipt(receipt)
    # 1. The checkpoint: the log's signature, then the origin (another log: WrongLog).
    checkpoint = verify_checkpoint(r.checkpoint, log_key, origin=origin)
    # 2. The record's own signature.
    record = verify_record(r.record, record_key or log_key.public_key)
    # 3. RFC 9162 §2.1.3.2 against the checkpoint's root.
    if r.tree_size != checkpoint.size:
        raise InclusionProofInvalid(
            f"the proof is for size {r.tree_size}, the checkpoint is of size {checkpoint.size}"
        )
    verify_inclusion(
        r.record.leaf_hash(), r.leaf_index, r.tree_size, r.inclusion_proof, checkpoint.root_hash
    )
    # 4. The RFC 3161 time-stamp of the checkpoint.
    info = None
    if r.timestamp is not None and tsa_roots:
        info = verify_timestamp(r.timestamp, checkpoint_digest(checkpoint), roots=tsa_roots)
    elif require_timestamp:
        raise TimestampInvalid(
            "a time-stamp is required but "
            + ("the receipt has none" if r.timestamp is None else "no TSA root was given")
        )
    return VerifiedReceipt(record, r.leaf_index, checkpoint, info)


def _same_log(old: Checkpoint, new: Checkpoint) -> None:
    if old.origin != new.origin:
        raise WrongLog(f"checkpoints of two logs: {old.origin!r} and {new.origin!r}")


def verify_checkpoint_consistency(old: Checkpoint, new: Checkpoint, proof: Sequence[bytes]) -> None:
    """RFC 9162 §2.1.4.2 between two verified checkpoints of one log (old first)."""
    _same_log(old, new)
    if new.size < old.size:
        raise ConsistencyProofInvalid(f"the log shrank from {old.size} to {new.size} leaves")
    if old.size == new.size:
        compare_checkpoints(old, new)
    verify_consistency(old.size, new.size, proof, old.root_hash, new.root_hash)


def compare_checkpoints(a: Checkpoint, b: Checkpoint) -> None:
    """Raise :class:`ForkDetected` if one log signed two roots for one size."""
    _same_log(a, b)
    if a.size == b.size and not hmac.compare_digest(a.root_hash, b.root_hash):
        raise ForkDetected(
            f"log {a.origin!r} signed two different roots for size {a.size}: "
            f"{a.root_hash.hex()} and {b.root_hash.hex()}"
        )
