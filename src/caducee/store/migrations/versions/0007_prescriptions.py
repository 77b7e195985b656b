"""prescriptions: prescriptions, tasks, dispensing, card access

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 07:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rx_access_event",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("nir", sa.String(length=15), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("prescription_id", sa.String(length=22), nullable=True),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rx_access_event")),
    )
    with op.batch_alter_table("rx_access_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rx_access_event_nir"), ["nir"], unique=False)

    op.create_table(
        "rx_card_challenge",
        sa.Column("nonce_sha256", sa.String(length=64), nullable=False),
        sa.Column("audience", sa.String(length=320), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("nonce_sha256", name=op.f("pk_rx_card_challenge")),
    )
    with op.batch_alter_table("rx_card_challenge", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rx_card_challenge_expires_at"), ["expires_at"], unique=False
        )

    op.create_table(
        "rx_card_grant",
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("nir", sa.String(length=15), nullable=False),
        sa.Column("audience", sa.String(length=320), nullable=False),
        sa.Column("mailbox_id", sa.Integer(), nullable=True),
        sa.Column("card_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token_sha256", name=op.f("pk_rx_card_grant")),
    )
    with op.batch_alter_table("rx_card_grant", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rx_card_grant_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_rx_card_grant_nir"), ["nir"], unique=False)

    op.create_table(
        "rx_drug",
        sa.Column("cip13", sa.String(length=13), nullable=False),
        sa.Column("cis", sa.String(length=8), nullable=False),
        sa.Column("label", sa.String(length=300), nullable=False),
        sa.Column("search", sa.String(length=300), nullable=False),
        sa.Column("form", sa.String(length=100), nullable=False),
        sa.Column("marketed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("cip13", name=op.f("pk_rx_drug")),
    )
    with op.batch_alter_table("rx_drug", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rx_drug_cis"), ["cis"], unique=False)
        batch_op.create_index(batch_op.f("ix_rx_drug_search"), ["search"], unique=False)

    op.create_table(
        "rx_patient_preference",
        sa.Column("nir", sa.String(length=15), nullable=False),
        sa.Column("history_refused", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("nir", name=op.f("pk_rx_patient_preference")),
    )
    op.create_table(
        "rx_task",
        sa.Column("id", sa.String(length=22), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("prescriber_mailbox_id", sa.Integer(), nullable=False),
        sa.Column("prescriber_address", sa.String(length=320), nullable=False),
        sa.Column("access_code_sha256", sa.String(length=64), nullable=False),
        sa.Column("patient_nir", sa.String(length=15), nullable=True),
        sa.Column("bundle_cms", sa.LargeBinary(), nullable=True),
        sa.Column("bundle_sha256", sa.String(length=64), nullable=True),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("pharmacy_mailbox_id", sa.Integer(), nullable=True),
        sa.Column("pharmacy_address", sa.String(length=320), nullable=True),
        sa.Column("secret_sha256", sa.String(length=64), nullable=True),
        sa.Column("accept_nonce", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.String(length=32), nullable=True),
        sa.Column("receipt_json", sa.Text(), nullable=True),
        sa.Column("evidence_sha256", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["prescriber_mailbox_id"],
            ["directory_mailbox.id"],
            name=op.f("fk_rx_task_prescriber_mailbox_id_directory_mailbox"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rx_task")),
    )
    with op.batch_alter_table("rx_task", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rx_task_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_rx_task_patient_nir"), ["patient_nir"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_rx_task_prescriber_mailbox_id"), ["prescriber_mailbox_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_rx_task_status"), ["status"], unique=False)

    op.create_table(
        "rx_dispense",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("task_id", sa.String(length=22), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=13), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("handed_over_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["rx_task.id"],
            name=op.f("fk_rx_dispense_task_id_rx_task"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rx_dispense")),
        sa.UniqueConstraint("task_id", "line", name=op.f("uq_rx_dispense_task_id")),
    )
    with op.batch_alter_table("rx_dispense", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rx_dispense_task_id"), ["task_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rx_dispense", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rx_dispense_task_id"))

    op.drop_table("rx_dispense")
    with op.batch_alter_table("rx_task", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rx_task_status"))
        batch_op.drop_index(batch_op.f("ix_rx_task_prescriber_mailbox_id"))
        batch_op.drop_index(batch_op.f("ix_rx_task_patient_nir"))
        batch_op.drop_index(batch_op.f("ix_rx_task_expires_at"))

    op.drop_table("rx_task")
    op.drop_table("rx_patient_preference")
    with op.batch_alter_table("rx_drug", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rx_drug_search"))
        batch_op.drop_index(batch_op.f("ix_rx_drug_cis"))

    op.drop_table("rx_drug")
    with op.batch_alter_table("rx_card_grant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rx_card_grant_nir"))
        batch_op.drop_index(batch_op.f("ix_rx_card_grant_expires_at"))

    op.drop_table("rx_card_grant")
    with op.batch_alter_table("rx_card_challenge", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rx_card_challenge_expires_at"))

    op.drop_table("rx_card_challenge")
    with op.batch_alter_table("rx_access_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rx_access_event_nir"))

    op.drop_table("rx_access_event")
