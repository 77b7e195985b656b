"""Recompute the whole log from its records and compare with what is stored.

Every record must verify (RFC 8032 signature), hash to its stored leaf (RFC 9162 §2.1.1),
match its indexed columns; every stored node must equal the recomputed complete subtree and
none may be missing or extra; every checkpoint must verify and name the recomputed root.
The first disagreement raises :class:`LogCorrupted` naming the row.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from sqlalchemy import func, select

from caducee.evidence.errors import LogCorrupted
from caducee.evidence.models import HEAD_ID, CheckpointRow, LogHead, MerkleNode, RecordRow
from caducee.ledger import (
    InMemoryTree,
    LedgerError,
    NoteVerifierKey,
    SignedRecord,
    checkpoint_digest,
    leaf_hash,
    loads_strict,
    verify_checkpoint,
    verify_record,
    verify_timestamp,
)
from caducee.store import Database

__all__ = ["BATCH", "LogReport", "check_log"]

BATCH = 5000


@dataclass(frozen=True)
class LogReport:
    """What a successful check covered."""

    tree_size: int
    root_hash: bytes
    nodes: int
    checkpoints: int


def _record(row: RecordRow, expected: int, key: NoteVerifierKey) -> bytes:
    where = f"record {row.leaf_index}"
    if row.leaf_index != expected:
        raise LogCorrupted(f"leaf index {expected} is missing (next stored: {row.leaf_index})")
    data = row.record_json.encode("utf-8")
    try:
        signed = SignedRecord.from_json_dict(loads_strict(data))
        verify_record(signed, key.public_key)
    except LedgerError as exc:
        raise LogCorrupted(f"{where}: {exc.reason}") from exc
    if signed.to_leaf_data() != data:
        raise LogCorrupted(f"{where}: the stored JSON is not the canonical form")
    if not hmac.compare_digest(leaf_hash(data), bytes(row.leaf_hash)):
        raise LogCorrupted(f"{where}: the stored leaf hash is not the hash of the record")
    record = signed.record
    if (row.event, row.message_id) != (record.event.value, record.message_id):
        raise LogCorrupted(f"{where}: the event or message id column differs from the record")
    if row.record_sha256 != record.record_digest():
        raise LogCorrupted(f"{where}: the stored record digest differs from the record")
    return bytes(row.leaf_hash)


async def check_log(
    database: Database,
    key: NoteVerifierKey,
    *,
    tsa_roots: Sequence[x509.Certificate] = (),
) -> LogReport:
    """Check every record, node and checkpoint; raise :class:`LogCorrupted` on the first lie."""
    tree = InMemoryTree()
    async with database.sessions() as session:
        # 1. Records, in order: dense, signed, canonical, hashed as stored.
        last = -1
        while True:
            rows = (
                await session.scalars(
                    select(RecordRow)
                    .where(RecordRow.leaf_index > last)
                    .order_by(RecordRow.leaf_index)
                    .limit(BATCH)
                )
            ).all()
            for row in rows:
                tree.append_hash(_record(row, tree.size, key))
            if len(rows) < BATCH:
                break
            last = rows[-1].leaf_index
            session.expunge_all()
        size = tree.size
        head = await session.scalar(select(LogHead.tree_size).where(LogHead.id == HEAD_ID))
        if head is not None and head != size:
            raise LogCorrupted(f"the log head says {head} leaves, {size} records are stored")
        # 2. Nodes: each equal to the recomputed subtree; exactly 2n - popcount(n) of them.
        count = 0
        result = await session.stream(
            select(MerkleNode.level, MerkleNode.node_index, MerkleNode.hash).order_by(
                MerkleNode.level, MerkleNode.node_index
            )
        )
        async for level, index, stored in result:
            if (index + 1) << level > size:
                raise LogCorrupted(f"tree node (level {level}, index {index}) is beyond the log")
            if not hmac.compare_digest(bytes(stored), tree.subtree_hash(index << level, level)):
                raise LogCorrupted(
                    f"tree node (level {level}, index {index}) differs from the records"
                )
            count += 1
        expected = 2 * size - bin(size).count("1")
        if count != expected:
            raise LogCorrupted(f"{expected - count} tree nodes are missing")
        # 3. Checkpoints: signed by the log, of a size it had, with the recomputed root.
        checkpoints = (
            await session.scalars(select(CheckpointRow).order_by(CheckpointRow.id))
        ).all()
        total = await session.scalar(select(func.count()).select_from(CheckpointRow))
    for cp_row in checkpoints:
        where = f"checkpoint {cp_row.id}"
        try:
            cp = verify_checkpoint(cp_row.note, key)
        except LedgerError as exc:
            raise LogCorrupted(f"{where}: {exc.reason}") from exc
        if cp.size > size:
            raise LogCorrupted(f"{where}: size {cp.size} is beyond the {size} stored records")
        if not hmac.compare_digest(cp.root_hash, tree.root(cp.size)):
            raise LogCorrupted(f"{where}: the signed root of size {cp.size} is not the records'")
        if (cp_row.tree_size, bytes(cp_row.root_hash)) != (cp.size, cp.root_hash):
            raise LogCorrupted(f"{where}: the size or root columns differ from the signed note")
        if cp_row.timestamp_token is not None and tsa_roots:
            try:
                verify_timestamp(
                    bytes(cp_row.timestamp_token), checkpoint_digest(cp), roots=tsa_roots
                )
            except LedgerError as exc:
                raise LogCorrupted(f"{where}: {exc.reason}") from exc
    return LogReport(size, tree.root(), count, int(total or 0))
