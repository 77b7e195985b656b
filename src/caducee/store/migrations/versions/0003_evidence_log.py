"""evidence log: records (leaves), complete subtree hashes, checkpoints, log head

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 04:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "evidence_record",
        sa.Column("leaf_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("message_id", sa.String(length=1024), nullable=False),
        sa.Column("record_json", sa.Text(), nullable=False),
        sa.Column("record_sha256", sa.String(length=64), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("leaf_index", name=op.f("pk_evidence_record")),
    )
    with op.batch_alter_table("evidence_record", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_evidence_record_message_id"), ["message_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_evidence_record_record_sha256"), ["record_sha256"], unique=False
        )
    op.create_table(
        "evidence_merkle_node",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("node_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("level", "node_index", name=op.f("pk_evidence_merkle_node")),
    )
    op.create_table(
        "evidence_checkpoint",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("timestamp_token", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_checkpoint")),
    )
    with op.batch_alter_table("evidence_checkpoint", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_evidence_checkpoint_tree_size"), ["tree_size"], unique=False
        )
    head = op.create_table(
        "evidence_log_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_log_head")),
    )
    op.bulk_insert(head, [{"id": 1, "tree_size": 0}])


def downgrade() -> None:
    op.drop_table("evidence_log_head")
    with op.batch_alter_table("evidence_checkpoint", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_checkpoint_tree_size"))
    op.drop_table("evidence_checkpoint")
    op.drop_table("evidence_merkle_node")
    with op.batch_alter_table("evidence_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_record_record_sha256"))
        batch_op.drop_index(batch_op.f("ix_evidence_record_message_id"))
    op.drop_table("evidence_record")
