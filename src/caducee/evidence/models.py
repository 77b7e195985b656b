"""Tables of the evidence log: records (the leaves), complete subtree hashes, checkpoints.

``evidence_record.leaf_index`` is dense from 0. ``evidence_merkle_node`` holds MTH of every
complete subtree ``[index * 2**level, (index + 1) * 2**level)`` (RFC 9162 §2.1.1), level 0
included, written when it completes: a proof is O(log n) point reads. ``evidence_log_head``
is one row whose update serialises appends on every engine.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from caducee.store.models import Base, utcnow

__all__ = ["HEAD_ID", "CheckpointRow", "LogHead", "MerkleNode", "RecordRow"]

HEAD_ID = 1


class RecordRow(Base):
    """One signed evidence record: the leaf at ``leaf_index``."""

    __tablename__ = "evidence_record"

    leaf_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    event: Mapped[str] = mapped_column(String(40))
    message_id: Mapped[str] = mapped_column(String(1024), index=True)
    record_json: Mapped[str] = mapped_column(Text)  # canonical JSON of the signed record
    record_sha256: Mapped[str] = mapped_column(String(64), index=True)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class MerkleNode(Base):
    """MTH of the complete subtree number ``node_index`` at height ``level``."""

    __tablename__ = "evidence_merkle_node"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    node_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class CheckpointRow(Base):
    """A C2SP checkpoint the log signed, and its RFC 3161 token when it has one."""

    __tablename__ = "evidence_checkpoint"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tree_size: Mapped[int] = mapped_column(BigInteger, index=True)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    timestamp_token: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LogHead(Base):
    """The single row holding the tree size; appends lock it (UPDATE ... RETURNING)."""

    __tablename__ = "evidence_log_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    tree_size: Mapped[int] = mapped_column(BigInteger)
