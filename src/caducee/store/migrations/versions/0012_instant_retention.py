"""instant messaging (MISS): retention per organisation, and the organisation of each case

A case's messages are kept as long as its organisation says (``instant_retention``, no row
or ``days`` NULL: no limit). The organisation is the one of the role a case was addressed
to, else its creator's; existing cases get their creator's (their mailbox's organisation,
else their person's).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL = """
UPDATE instant_case SET organisation_finess = (
    SELECT COALESCE(m.organisation_finess, p.organisation_finess)
    FROM directory_mailbox m
    LEFT JOIN directory_person p ON p.rpps = m.person_rpps
    WHERE m.address = instant_case.created_by
)
"""


def upgrade() -> None:
    op.create_table(
        "instant_retention",
        sa.Column("organisation_finess", sa.String(length=9), nullable=False),
        sa.Column("days", sa.Integer(), nullable=True),
        sa.Column("updated_by", sa.String(length=320), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_finess"],
            ["directory_organisation.finess"],
            name=op.f("fk_instant_retention_organisation_finess_directory_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organisation_finess", name=op.f("pk_instant_retention")),
    )
    with op.batch_alter_table("instant_case", schema=None) as batch_op:
        batch_op.add_column(sa.Column("organisation_finess", sa.String(length=9), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_instant_case_organisation_finess"), ["organisation_finess"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_instant_case_organisation_finess_directory_organisation"),
            "directory_organisation",
            ["organisation_finess"],
            ["finess"],
            ondelete="SET NULL",
        )
    op.execute(BACKFILL)


def downgrade() -> None:
    with op.batch_alter_table("instant_case", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_instant_case_organisation_finess_directory_organisation"),
            type_="foreignkey",
        )
        batch_op.drop_index(batch_op.f("ix_instant_case_organisation_finess"))
        batch_op.drop_column("organisation_finess")
    op.drop_table("instant_retention")
