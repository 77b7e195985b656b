"""instant messaging (MISS): roles, on-call schedules, cases, case messages

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 11:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "instant_unit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("organisation_finess", sa.String(length=9), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.Column("head_address", sa.String(length=320), nullable=True),
        sa.Column("escalation_seconds", sa.Integer(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_finess"],
            ["directory_organisation.finess"],
            name=op.f("fk_instant_unit_organisation_finess_directory_organisation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["instant_unit.id"],
            name=op.f("fk_instant_unit_service_id_instant_unit"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instant_unit")),
        sa.UniqueConstraint(
            "organisation_finess", "name", name=op.f("uq_instant_unit_organisation_finess")
        ),
    )
    op.create_index(
        op.f("ix_instant_unit_organisation_finess"), "instant_unit", ["organisation_finess"]
    )
    op.create_index(op.f("ix_instant_unit_service_id"), "instant_unit", ["service_id"])
    op.create_table(
        "instant_unit_member",
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["instant_unit.id"],
            name=op.f("fk_instant_unit_member_unit_id_instant_unit"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("unit_id", "address", name=op.f("pk_instant_unit_member")),
    )
    op.create_index(op.f("ix_instant_unit_member_address"), "instant_unit_member", ["address"])
    op.create_table(
        "instant_shift",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("role_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("position", sa.String(length=16), nullable=False),
        sa.Column("starts_at", TZ, nullable=False),
        sa.Column("ends_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(
            ["role_id"],
            ["instant_unit.id"],
            name=op.f("fk_instant_shift_role_id_instant_unit"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instant_shift")),
    )
    op.create_index(op.f("ix_instant_shift_role_id"), "instant_shift", ["role_id"])
    op.create_index(op.f("ix_instant_shift_starts_at"), "instant_shift", ["starts_at"])
    op.create_table(
        "instant_device",
        sa.Column("device_id", sa.String(length=128), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("certificate_serial", sa.String(length=64), nullable=False),
        sa.Column("kem", sa.Integer(), nullable=False),
        sa.Column("hpke_public", sa.LargeBinary(), nullable=False),
        sa.Column("signing_public", sa.LargeBinary(), nullable=False),
        sa.Column("statement", sa.LargeBinary(), nullable=False),
        sa.Column("statement_sha256", sa.String(length=64), nullable=False),
        sa.Column("registered_at", TZ, nullable=False),
        sa.Column("revoked_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_instant_device")),
    )
    op.create_index(op.f("ix_instant_device_address"), "instant_device", ["address"])
    op.create_table(
        "instant_case",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("role_id", sa.Integer(), nullable=True),
        sa.Column("last_sequence", sa.Integer(), nullable=False),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("escalation_message_id", sa.String(length=200), nullable=True),
        sa.Column("escalation_due_at", TZ, nullable=True),
        sa.Column("acknowledged_by", sa.String(length=320), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(
            ["role_id"],
            ["instant_unit.id"],
            name=op.f("fk_instant_case_role_id_instant_unit"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instant_case")),
    )
    op.create_index(op.f("ix_instant_case_role_id"), "instant_case", ["role_id"])
    op.create_index(
        op.f("ix_instant_case_escalation_due_at"), "instant_case", ["escalation_due_at"]
    )
    op.create_table(
        "instant_participant",
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("via_role_id", sa.Integer(), nullable=True),
        sa.Column("added_at", TZ, nullable=False),
        sa.Column("removed_at", TZ, nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["instant_case.id"],
            name=op.f("fk_instant_participant_case_id_instant_case"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("case_id", "address", name=op.f("pk_instant_participant")),
    )
    op.create_index(op.f("ix_instant_participant_address"), "instant_participant", ["address"])
    op.create_table(
        "instant_message",
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("sequence", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("sender_address", sa.String(length=320), nullable=False),
        sa.Column("sender_device_id", sa.String(length=128), nullable=False),
        sa.Column("recipient_device_id", sa.String(length=128), nullable=True),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("ciphertext_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["instant_case.id"],
            name=op.f("fk_instant_message_case_id_instant_case"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("case_id", "sequence", name=op.f("pk_instant_message")),
        sa.UniqueConstraint("message_id", name=op.f("uq_instant_message_message_id")),
    )


def downgrade() -> None:
    for table in (
        "instant_message",
        "instant_participant",
        "instant_case",
        "instant_device",
        "instant_shift",
        "instant_unit_member",
        "instant_unit",
    ):
        op.drop_table(table)
