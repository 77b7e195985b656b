"""directory: each organisation's content policy (JSON), set by the operator

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 06:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "directory_content_policy",
        sa.Column("finess", sa.String(length=9), nullable=False),
        sa.Column("policy_json", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["finess"],
            ["directory_organisation.finess"],
            name=op.f("fk_directory_content_policy_finess_directory_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("finess", name=op.f("pk_directory_content_policy")),
    )


def downgrade() -> None:
    op.drop_table("directory_content_policy")
