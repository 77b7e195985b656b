"""relay: small ciphertexts kept in their message row (no blob file per small message)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 00:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("relay_message") as batch:
        batch.add_column(sa.Column("inline_ciphertext", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    kept = op.get_bind().scalar(
        sa.text("SELECT count(*) FROM relay_message WHERE inline_ciphertext IS NOT NULL")
    )
    if kept:  # the bytes exist nowhere else: dropping the column would lose those messages
        raise RuntimeError(
            f"{kept} messages keep their ciphertext in the database: purge them (or let "
            "retention do it) before going back to a version without inline ciphertexts"
        )
    with op.batch_alter_table("relay_message") as batch:
        batch.drop_column("inline_ciphertext")
