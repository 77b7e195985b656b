"""instant messaging (MISS): a device's Web Push subscription (endpoint only: pushes are empty)

and the claims that coalesce pushes per device and case across server processes.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29 15:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "instant_push_subscription",
        sa.Column("device_id", sa.String(length=128), nullable=False),
        sa.Column("endpoint", sa.String(length=2048), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["instant_device.device_id"],
            name=op.f("fk_instant_push_subscription_device_id_instant_device"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_instant_push_subscription")),
        sa.UniqueConstraint("endpoint", name=op.f("uq_instant_push_subscription_endpoint")),
    )
    op.create_table(
        "instant_push_claim",
        sa.Column("device_id", sa.String(length=128), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("pushed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["instant_case.id"],
            name=op.f("fk_instant_push_claim_case_id_instant_case"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["instant_device.device_id"],
            name=op.f("fk_instant_push_claim_device_id_instant_device"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("device_id", "case_id", name=op.f("pk_instant_push_claim")),
    )
    op.create_index(op.f("ix_instant_push_claim_pushed_at"), "instant_push_claim", ["pushed_at"])


def downgrade() -> None:
    op.drop_table("instant_push_claim")
    op.drop_table("instant_push_subscription")
