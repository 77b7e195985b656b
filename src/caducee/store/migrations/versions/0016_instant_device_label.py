"""instant: a device keeps the name its person gave it (shown to them only)

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 09:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("instant_device") as batch:
        batch.add_column(sa.Column("label", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("instant_device") as batch:
        batch.drop_column("label")
