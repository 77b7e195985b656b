"""instant messaging (MISS): browser pairing requests, device login challenges and tokens

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "instant_pairing",
        sa.Column("code_sha256", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("device_id", sa.String(length=128), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("kem", sa.Integer(), nullable=False),
        sa.Column("hpke_public", sa.LargeBinary(), nullable=False),
        sa.Column("signing_public", sa.LargeBinary(), nullable=False),
        sa.Column("keys_created_at", sa.Integer(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("code_sha256", name=op.f("pk_instant_pairing")),
    )
    op.create_index(op.f("ix_instant_pairing_address"), "instant_pairing", ["address"])
    op.create_index(op.f("ix_instant_pairing_expires_at"), "instant_pairing", ["expires_at"])
    op.create_table(
        "instant_device_challenge",
        sa.Column("challenge_sha256", sa.String(length=64), nullable=False),
        sa.Column("device_id", sa.String(length=128), nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("challenge_sha256", name=op.f("pk_instant_device_challenge")),
    )
    op.create_index(
        op.f("ix_instant_device_challenge_expires_at"), "instant_device_challenge", ["expires_at"]
    )
    op.create_table(
        "instant_device_token",
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("device_id", sa.String(length=128), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("token_sha256", name=op.f("pk_instant_device_token")),
    )
    op.create_index(
        op.f("ix_instant_device_token_device_id"), "instant_device_token", ["device_id"]
    )
    op.create_index(
        op.f("ix_instant_device_token_expires_at"), "instant_device_token", ["expires_at"]
    )


def downgrade() -> None:
    for table in ("instant_device_token", "instant_device_challenge", "instant_pairing"):
        op.drop_table(table)
