"""console: establishments, charter, moderation, statistics

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 07:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "policy_charter",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_policy_charter")),
        sa.UniqueConstraint("sha256", name=op.f("uq_policy_charter_sha256")),
    )
    op.create_table(
        "policy_sending_limit",
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("recipients_per_message", sa.Integer(), nullable=False),
        sa.Column("messages_per_hour", sa.Integer(), nullable=False),
        sa.Column("new_recipients_per_hour", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_policy_sending_limit")),
    )
    op.create_table(
        "stats_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("org_type", sa.String(length=32), nullable=False),
        sa.Column("messages", sa.BigInteger(), nullable=False),
        sa.Column("deliveries", sa.BigInteger(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "org_type", name=op.f("pk_stats_daily")),
    )
    op.create_table(
        "stats_day_figures",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("org_type", sa.String(length=32), nullable=False),
        sa.Column("active_users", sa.Integer(), nullable=False),
        sa.Column("daily_users", sa.Integer(), nullable=False),
        sa.Column("active_establishments", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "org_type", name=op.f("pk_stats_day_figures")),
    )
    op.create_table(
        "stats_user_month",
        sa.Column("mailbox_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("org_type", sa.String(length=32), nullable=False),
        sa.Column("finess", sa.String(length=9), nullable=True),
        sa.Column("days", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("mailbox_id", "month", name=op.f("pk_stats_user_month")),
    )
    op.create_index(op.f("ix_stats_user_month_month"), "stats_user_month", ["month"], unique=False)
    op.create_table(
        "policy_establishment",
        sa.Column("finess", sa.String(length=9), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["finess"],
            ["directory_organisation.finess"],
            name=op.f("fk_policy_establishment_finess_directory_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("finess", name=op.f("pk_policy_establishment")),
    )
    op.create_table(
        "policy_charter_signature",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("finess", sa.String(length=9), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("charter_sha256", sa.String(length=64), nullable=False),
        sa.Column("signer_rpps", sa.String(length=11), nullable=False),
        sa.Column("signer_address", sa.String(length=320), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("evidence_index", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["finess"],
            ["directory_organisation.finess"],
            name=op.f("fk_policy_charter_signature_finess_directory_organisation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["signer_rpps"],
            ["directory_person.rpps"],
            name=op.f("fk_policy_charter_signature_signer_rpps_directory_person"),
        ),
        sa.ForeignKeyConstraint(
            ["version"],
            ["policy_charter.version"],
            name=op.f("fk_policy_charter_signature_version_policy_charter"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_charter_signature")),
        sa.UniqueConstraint("finess", "version", name="uq_policy_charter_signature_finess_version"),
    )
    op.create_index(
        op.f("ix_policy_charter_signature_finess"),
        "policy_charter_signature",
        ["finess"],
        unique=False,
    )
    op.create_table(
        "policy_manager",
        sa.Column("finess", sa.String(length=9), nullable=False),
        sa.Column("rpps", sa.String(length=11), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["finess"],
            ["directory_organisation.finess"],
            name=op.f("fk_policy_manager_finess_directory_organisation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["rpps"],
            ["directory_person.rpps"],
            name=op.f("fk_policy_manager_rpps_directory_person"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("finess", "rpps", name=op.f("pk_policy_manager")),
    )
    op.create_index(op.f("ix_policy_manager_rpps"), "policy_manager", ["rpps"], unique=False)
    op.create_table(
        "policy_moderator",
        sa.Column("rpps", sa.String(length=11), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["rpps"],
            ["directory_person.rpps"],
            name=op.f("fk_policy_moderator_rpps_directory_person"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("rpps", name=op.f("pk_policy_moderator")),
    )
    op.create_table(
        "policy_contact",
        sa.Column("sender_mailbox_id", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["sender_mailbox_id"],
            ["directory_mailbox.id"],
            name=op.f("fk_policy_contact_sender_mailbox_id_directory_mailbox"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("sender_mailbox_id", "recipient", name=op.f("pk_policy_contact")),
    )
    op.create_table(
        "policy_hold",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("sender_mailbox_id", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(length=320), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("envelope_date", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("ciphertext_sha256", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=320), nullable=True),
        sa.ForeignKeyConstraint(
            ["sender_mailbox_id"],
            ["directory_mailbox.id"],
            name=op.f("fk_policy_hold_sender_mailbox_id_directory_mailbox"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_hold")),
        sa.UniqueConstraint("message_id", name=op.f("uq_policy_hold_message_id")),
    )
    op.create_index(
        op.f("ix_policy_hold_sender_mailbox_id"), "policy_hold", ["sender_mailbox_id"], unique=False
    )
    op.create_index(op.f("ix_policy_hold_status"), "policy_hold", ["status"], unique=False)
    op.create_table(
        "policy_report",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("reporter_mailbox_id", sa.Integer(), nullable=False),
        sa.Column("sender_mailbox_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("comment", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["reporter_mailbox_id"],
            ["directory_mailbox.id"],
            name=op.f("fk_policy_report_reporter_mailbox_id_directory_mailbox"),
        ),
        sa.ForeignKeyConstraint(
            ["sender_mailbox_id"],
            ["directory_mailbox.id"],
            name=op.f("fk_policy_report_sender_mailbox_id_directory_mailbox"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_report")),
        sa.UniqueConstraint("message_id", "reporter_mailbox_id", name="uq_policy_report_message"),
    )
    op.create_index(
        op.f("ix_policy_report_message_id"), "policy_report", ["message_id"], unique=False
    )
    op.create_index(
        op.f("ix_policy_report_sender_mailbox_id"),
        "policy_report",
        ["sender_mailbox_id"],
        unique=False,
    )
    op.create_table(
        "policy_sanction",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("mailbox_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["mailbox_id"],
            ["directory_mailbox.id"],
            name=op.f("fk_policy_sanction_mailbox_id_directory_mailbox"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_sanction")),
    )
    op.create_index(
        op.f("ix_policy_sanction_mailbox_id"), "policy_sanction", ["mailbox_id"], unique=False
    )
    op.create_table(
        "stats_region",
        sa.Column("region", sa.String(length=100), nullable=False),
        sa.Column("org_type", sa.String(length=32), nullable=False),
        sa.Column("establishments", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("region", "org_type", name=op.f("pk_stats_region")),
    )
    op.create_table(
        "stats_university_hospital",
        sa.Column("finess", sa.String(length=9), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("region", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("finess", name=op.f("pk_stats_university_hospital")),
    )


def downgrade() -> None:
    op.drop_table("stats_university_hospital")
    op.drop_table("stats_region")
    op.drop_index(op.f("ix_policy_sanction_mailbox_id"), table_name="policy_sanction")
    op.drop_table("policy_sanction")
    op.drop_index(op.f("ix_policy_report_sender_mailbox_id"), table_name="policy_report")
    op.drop_index(op.f("ix_policy_report_message_id"), table_name="policy_report")
    op.drop_table("policy_report")
    op.drop_index(op.f("ix_policy_hold_status"), table_name="policy_hold")
    op.drop_index(op.f("ix_policy_hold_sender_mailbox_id"), table_name="policy_hold")
    op.drop_table("policy_hold")
    op.drop_table("policy_contact")
    op.drop_table("policy_moderator")
    op.drop_index(op.f("ix_policy_manager_rpps"), table_name="policy_manager")
    op.drop_table("policy_manager")
    op.drop_index(op.f("ix_policy_charter_signature_finess"), table_name="policy_charter_signature")
    op.drop_table("policy_charter_signature")
    op.drop_table("policy_establishment")
    op.drop_index(op.f("ix_stats_user_month_month"), table_name="stats_user_month")
    op.drop_table("stats_user_month")
    op.drop_table("stats_day_figures")
    op.drop_table("stats_daily")
    op.drop_table("policy_sending_limit")
    op.drop_table("policy_charter")
