"""relay: the delivery's index on message_pk goes (the unique index on (message_pk,
mailbox_id) serves the same lookups, and every delivery paid for both)

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 09:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("relay_delivery") as batch:
        batch.drop_index("ix_relay_delivery_message_pk")


def downgrade() -> None:
    with op.batch_alter_table("relay_delivery") as batch:
        batch.create_index("ix_relay_delivery_message_pk", ["message_pk"], unique=False)
