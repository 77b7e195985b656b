"""gateway: application passwords for SMTP AUTH (Argon2id hashes)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 05:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gateway_app_password",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("mailbox_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["mailbox_id"],
            ["directory_mailbox.id"],
            name=op.f("fk_gateway_app_password_mailbox_id_directory_mailbox"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway_app_password")),
    )
    with op.batch_alter_table("gateway_app_password", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_gateway_app_password_mailbox_id"), ["mailbox_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("gateway_app_password", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gateway_app_password_mailbox_id"))
    op.drop_table("gateway_app_password")
