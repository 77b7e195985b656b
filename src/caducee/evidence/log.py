"""The evidence log service: appends in the caller's transaction, checkpoints, proofs.

Records are leaves of an RFC 9162 §2.1 Merkle tree; checkpoints are C2SP signed notes,
optionally RFC 3161 time-stamped; receipts carry the §2.1.3 inclusion proof, and
:meth:`EvidenceLog.consistency` answers §2.1.4 consistency proofs.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import Connection, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from caducee.evidence.errors import InvalidTreeRange, UnknownRecord
from caducee.evidence.models import HEAD_ID, CheckpointRow, LogHead, MerkleNode, RecordRow
from caducee.evidence.signing_key import LogIdentity
from caducee.evidence.timestamping import Timestamper, request_timestamp
from caducee.evidence.tree import (
    CommittedFrontier,
    frontier,
    load_nodes,
    new_nodes,
    run_on_database,
)
from caducee.ledger import (
    Checkpoint,
    EvidenceRecord,
    NoteVerifierKey,
    Receipt,
    SignedRecord,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    loads_strict,
    sign_checkpoint,
    tree_root,
)
from caducee.ledger.records import SIGNATURE_DOMAIN
from caducee.store import Database
from caducee.store.bulk import insert_rows
from caducee.store.models import utcnow

__all__ = ["DEFAULT_CHECKPOINT_AGE", "EvidenceLog", "SignedLeaf", "StoredCheckpoint"]

log = logging.getLogger(__name__)
DEFAULT_CHECKPOINT_AGE = timedelta(seconds=30)


@dataclass(frozen=True)
class StoredCheckpoint:
    """A checkpoint the log signed: the note text and its optional RFC 3161 token."""

    id: int
    tree_size: int
    root_hash: bytes
    note: str
    timestamp: bytes | None
    created_at: datetime


@dataclass(frozen=True)
class SignedLeaf:
    """A signed record ready to append: its leaf's data and hash, its record's digest."""

    signed: SignedRecord
    data: bytes
    leaf_hash: bytes
    record_sha256: str


def _stored(row: CheckpointRow) -> StoredCheckpoint:
    token = None if row.timestamp_token is None else bytes(row.timestamp_token)
    return StoredCheckpoint(
        row.id, row.tree_size, bytes(row.root_hash), row.note, token, row.created_at
    )


# Built once: the group commit runs it for every batch, and a statement object keeps its
# cache key, which SQLAlchemy would otherwise compute again for each new one.
_BUMP = (
    update(LogHead)
    .where(LogHead.id == HEAD_ID)
    .values(tree_size=LogHead.tree_size + bindparam("count"))
    .returning(LogHead.tree_size)
)


def _leaf_data(signed: SignedRecord, canonical: bytes) -> bytes:
    """``signed.to_leaf_data()`` without canonicalising the record twice.

    RFC 8785 §3.2.3 sorts members ("alg" < "record" < "sig") and a canonical member value is
    the canonical JSON of that value, so the record's canonical bytes are spliced in.
    ``check_log`` and the tests compare this with ``SignedRecord.to_leaf_data``.
    """
    sig = base64.b64encode(signed.signature)
    return b'{"alg":"Ed25519","record":' + canonical + b',"sig":"' + sig + b'"}'


def _signed(row: RecordRow) -> SignedRecord:
    return SignedRecord.from_json_dict(loads_strict(row.record_json.encode("utf-8")))


class EvidenceLog:
    """One operator's log: ``append`` inside the caller's transaction, reads on their own."""

    def __init__(
        self,
        database: Database,
        identity: LogIdentity,
        *,
        timestamper: Timestamper | None = None,
        now: Callable[[], datetime] = utcnow,
        signer: Callable[[Sequence[bytes]], list[bytes]] | None = None,
    ) -> None:
        self.database = database
        self.identity = identity
        self.timestamper = timestamper
        self._now = now
        # Signs a batch with the identity's key elsewhere (a SigningProcess): the server's
        # GIL is spared. None signs here.
        self.signer = signer

    @property
    def origin(self) -> str:
        return self.identity.origin

    @property
    def verifier_key(self) -> NoteVerifierKey:
        return self.identity.verifier_key

    # -- writes ---------------------------------------------------------------------------

    async def append(
        self, session: AsyncSession, record: EvidenceRecord
    ) -> tuple[int, SignedRecord]:
        """Sign and append one record in ``session``'s transaction; return (leaf index, it)."""
        [appended] = await self.append_many(session, [record])
        return appended

    async def append_many(
        self, session: AsyncSession, records: Sequence[EvidenceRecord]
    ) -> list[tuple[int, SignedRecord]]:
        """Append records in order, in the caller's transaction (commit = durable, all or none)."""
        if not records:
            return []
        return await session.run_sync(
            lambda sync_session: self.append_many_sync(sync_session.connection(), records)
        )

    def append_many_sync(
        self, connection: Connection, records: Sequence[EvidenceRecord]
    ) -> list[tuple[int, SignedRecord]]:
        """:meth:`append_many` on a blocking connection: :meth:`sign`, then
        :meth:`append_signed_sync`."""
        return self.append_signed_sync(connection, self.sign(records))

    def sign(self, records: Sequence[EvidenceRecord]) -> list[SignedLeaf]:
        """Sign records and compute their leaves: everything an append needs but its index.

        Needs no database, so it may run anywhere, before the transaction: the relay's group
        commit runs it in a thread of its own while its transaction waits on the database.
        """
        canonicals = [record.to_canonical_bytes() for record in records]  # once each
        to_sign = [SIGNATURE_DOMAIN + canonical for canonical in canonicals]
        if self.signer is not None:
            signatures = self.signer(to_sign)
        else:
            signatures = [self.identity.private_key.sign(message) for message in to_sign]
        leaves = []
        for record, canonical, signature in zip(records, canonicals, signatures, strict=True):
            signed = SignedRecord(record, signature)
            data = _leaf_data(signed, canonical)
            digest = hashlib.sha256(canonical).hexdigest()
            leaves.append(SignedLeaf(signed, data, leaf_hash(data), digest))
        return leaves

    def append_signed_sync(
        self,
        connection: Connection,
        leaves: Sequence[SignedLeaf],
        *,
        remembered: CommittedFrontier | None = None,
    ) -> list[tuple[int, SignedRecord]]:
        """Append signed records in order, in ``connection``'s transaction.

        The head row's ``UPDATE ... RETURNING`` takes the write lock (SQLite) or the row lock
        (PostgreSQL), so concurrent appends queue up until this transaction ends, and the new
        nodes (§2.1.1) are computed from the frontier: read from the database, or taken from
        ``remembered`` (whose owner tells it when the transaction commits).
        """
        if not leaves:
            return []
        end, recreated = self._reserve(connection, len(leaves))
        size = end - len(leaves)
        known = None if remembered is None or recreated else remembered.known(size)
        if known is None:
            known = load_nodes(connection, frontier(size))
        nodes = new_nodes(size, [leaf.leaf_hash for leaf in leaves], known)
        if remembered is not None:
            remembered.stage(end, {k: nodes[k] if k in nodes else known[k] for k in frontier(end)})
        created = self._now()
        insert_rows(
            connection,
            RecordRow,
            [
                {
                    "leaf_index": size + i,
                    "event": leaf.signed.record.event.value,
                    "message_id": leaf.signed.record.message_id,
                    "record_json": leaf.data.decode("utf-8"),
                    "record_sha256": leaf.record_sha256,
                    "leaf_hash": leaf.leaf_hash,
                    "created_at": created,
                }
                for i, leaf in enumerate(leaves)
            ],
        )
        insert_rows(
            connection,
            MerkleNode,
            [{"level": lv, "node_index": ix, "hash": h} for (lv, ix), h in nodes.items()],
        )
        log.debug("evidence leaves %d..%d appended", size, end - 1)
        return [(size + i, leaf.signed) for i, leaf in enumerate(leaves)]

    def _reserve(self, connection: Connection, count: int) -> tuple[int, bool]:
        """Grow the head by ``count`` under its lock; return the new size, and whether the
        head row had to be recreated."""
        end = connection.execute(_BUMP, {"count": count}).scalar_one_or_none()
        if end is not None:
            return int(end), False
        # The head row was removed (tables truncated): recreate it.
        base = connection.scalar(select(func.count()).select_from(RecordRow))
        dialect = postgresql if self.database.dialect == "postgresql" else sqlite
        connection.execute(
            dialect.insert(LogHead)
            .values(id=HEAD_ID, tree_size=int(base or 0))
            .on_conflict_do_nothing()
        )
        return int(connection.execute(_BUMP, {"count": count}).scalar_one()), True

    # -- reads ----------------------------------------------------------------------------

    async def size(self, session: AsyncSession | None = None) -> int:
        """The number of committed leaves (as seen by ``session``)."""
        if session is None:
            async with self.database.sessions() as own:
                return await self.size(own)
        value = await session.scalar(select(LogHead.tree_size).where(LogHead.id == HEAD_ID))
        return int(value or 0)

    async def root(self, session: AsyncSession, tree_size: int) -> bytes:
        """MTH(D[0:tree_size]) from O(log n) stored subtrees (§2.1.1)."""
        return await run_on_database(session, partial(tree_root, tree_size=tree_size))

    async def checkpoint(self, now: datetime | None = None) -> StoredCheckpoint:
        """Sign (and store) a checkpoint of the current size, time-stamped if configured."""
        async with self.database.sessions() as session:
            size = await self.size(session)
            root = await self.root(session, size)
        note = sign_checkpoint(
            Checkpoint(self.origin, size, root), self.identity.private_key, self.origin
        )
        token = None
        if self.timestamper is not None:
            token = await request_timestamp(self.timestamper, note)
        async with self.database.transaction() as session:
            row = CheckpointRow(
                tree_size=size,
                root_hash=root,
                note=note,
                timestamp_token=token,
                created_at=now or self._now(),
            )
            session.add(row)
            await session.flush()
            stored = _stored(row)
        log.info("checkpoint %d signed: size %d, root %s", stored.id, size, root.hex())
        return stored

    async def latest_checkpoint(self) -> StoredCheckpoint | None:
        async with self.database.sessions() as session:
            row = await session.scalar(
                select(CheckpointRow).order_by(CheckpointRow.id.desc()).limit(1)
            )
            return None if row is None else _stored(row)

    async def current_checkpoint(
        self,
        now: datetime | None = None,
        *,
        max_age: timedelta = DEFAULT_CHECKPOINT_AGE,
        covering: int | None = None,
    ) -> StoredCheckpoint:
        """The latest checkpoint, or a new one if it is absent, stale, or does not cover
        leaf ``covering``. Stale: younger leaves exist and it is older than ``max_age``."""
        now = now or self._now()
        latest = await self.latest_checkpoint()
        if latest is not None and (covering is None or covering < latest.tree_size):
            created = latest.created_at
            if created.tzinfo is None:  # SQLite hands back naive UTC datetimes
                created = created.replace(tzinfo=now.tzinfo)
            if now - created < max_age or latest.tree_size == await self.size():
                return latest
        return await self.checkpoint(now)

    async def record(self, index: int) -> SignedRecord:
        async with self.database.sessions() as session:
            row = await session.get(RecordRow, index)
        if row is None:
            raise UnknownRecord(f"no evidence record at leaf index {index}")
        return _signed(row)

    async def receipt(self, record_index: int, checkpoint: StoredCheckpoint) -> Receipt:
        """Record ``record_index`` with its §2.1.3 inclusion proof in ``checkpoint``."""
        if not 0 <= record_index < checkpoint.tree_size:
            raise UnknownRecord(
                f"leaf index {record_index} is not in the checkpoint of size {checkpoint.tree_size}"
            )
        async with self.database.sessions() as session:
            row = await session.get(RecordRow, record_index)
            if row is None:
                raise UnknownRecord(f"no evidence record at leaf index {record_index}")
            proof = await run_on_database(
                session,
                partial(inclusion_proof, index=record_index, tree_size=checkpoint.tree_size),
            )
        return Receipt(
            record=_signed(row),
            leaf_index=record_index,
            tree_size=checkpoint.tree_size,
            inclusion_proof=tuple(proof),
            checkpoint=checkpoint.note,
            timestamp=checkpoint.timestamp,
        )

    async def consistency(self, old_size: int, new_size: int) -> list[bytes]:
        """§2.1.4.1 PROOF(old_size, D[new_size])."""
        async with self.database.sessions() as session:
            size = await self.size(session)
            if not 0 <= old_size <= new_size <= size:
                raise InvalidTreeRange(
                    f"no consistency proof from size {old_size} to {new_size} (log size {size})"
                )
            return await run_on_database(
                session, partial(consistency_proof, first=old_size, second=new_size)
            )

    async def records_of(self, message_id: str) -> list[tuple[int, SignedRecord]]:
        """Every record of one message, in log order."""
        async with self.database.sessions() as session:
            rows = await session.scalars(
                select(RecordRow)
                .where(RecordRow.message_id == message_id)
                .order_by(RecordRow.leaf_index)
            )
            return [(row.leaf_index, _signed(row)) for row in rows]

    async def last_record_digests(
        self, session: AsyncSession, message_ids: Sequence[str]
    ) -> dict[str, str]:
        """:meth:`last_record_digest` of several messages in one query (those with none are
        left out)."""
        latest: dict[str, str] = {}
        for start in range(0, len(message_ids), 500):  # well under SQLite's bound variables
            rows = await session.execute(
                select(RecordRow.message_id, RecordRow.record_sha256)
                .where(RecordRow.message_id.in_(sorted(set(message_ids[start : start + 500]))))
                .order_by(RecordRow.leaf_index)
            )
            latest.update((str(message_id), str(digest)) for message_id, digest in rows)
        return latest

    async def last_record_digest(self, session: AsyncSession, message_id: str) -> str | None:
        """SHA-256 of the message's latest record: the next record's ``previous``."""
        digest = await session.scalar(
            select(RecordRow.record_sha256)
            .where(RecordRow.message_id == message_id)
            .order_by(RecordRow.leaf_index.desc())
            .limit(1)
        )
        return None if digest is None else str(digest)
