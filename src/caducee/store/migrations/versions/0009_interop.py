"""gateway: outbound queue (retries, DSN), IMAP delivery cursors

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 07:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gateway_outbound",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("sender", sa.String(length=320), nullable=False),
        sa.Column("sender_mailbox_id", sa.Integer(), nullable=False),
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_reply", sa.String(length=512), nullable=True),
        sa.ForeignKeyConstraint(
            ["sender_mailbox_id"],
            ["directory_mailbox.id"],
            name=op.f("fk_gateway_outbound_sender_mailbox_id_directory_mailbox"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway_outbound")),
        sa.UniqueConstraint("message_id", "domain", name="uq_gateway_outbound_message_domain"),
    )
    with op.batch_alter_table("gateway_outbound", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_gateway_outbound_next_attempt_at"), ["next_attempt_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_gateway_outbound_sender_mailbox_id"),
            ["sender_mailbox_id"],
            unique=False,
        )
    op.create_table(
        "gateway_imap_cursor",
        sa.Column("mailbox_id", sa.Integer(), nullable=False),
        sa.Column("delivered_sequence", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["mailbox_id"],
            ["directory_mailbox.id"],
            name=op.f("fk_gateway_imap_cursor_mailbox_id_directory_mailbox"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("mailbox_id", name=op.f("pk_gateway_imap_cursor")),
    )


def downgrade() -> None:
    op.drop_table("gateway_imap_cursor")
    with op.batch_alter_table("gateway_outbound", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gateway_outbound_sender_mailbox_id"))
        batch_op.drop_index(batch_op.f("ix_gateway_outbound_next_attempt_at"))
    op.drop_table("gateway_outbound")
