"""relay: the recipient's signed acknowledgement on each delivery

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 07:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("relay_delivery") as batch:
        batch.add_column(sa.Column("acknowledgement", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("relay_delivery") as batch:
        batch.drop_column("acknowledgement")
