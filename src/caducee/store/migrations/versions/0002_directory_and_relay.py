"""directory and relay: organisations, people, mailboxes, credentials, messages, deliveries

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 04:16:52.812911
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "directory_organisation",
        sa.Column("finess", sa.String(length=9), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("beds", sa.Integer(), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("postcode", sa.String(length=10), nullable=False),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("region", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("finess", name=op.f("pk_directory_organisation")),
    )
    with op.batch_alter_table("directory_organisation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_directory_organisation_city"), ["city"], unique=False)
        batch_op.create_index(batch_op.f("ix_directory_organisation_name"), ["name"], unique=False)

    op.create_table(
        "directory_person",
        sa.Column("rpps", sa.String(length=11), nullable=False),
        sa.Column("given_name", sa.String(length=100), nullable=False),
        sa.Column("family_name", sa.String(length=100), nullable=False),
        sa.Column("profession", sa.String(length=100), nullable=False),
        sa.Column("specialty", sa.String(length=100), nullable=True),
        sa.Column("organisation_finess", sa.String(length=9), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_finess"],
            ["directory_organisation.finess"],
            name=op.f("fk_directory_person_organisation_finess_directory_organisation"),
        ),
        sa.PrimaryKeyConstraint("rpps", name=op.f("pk_directory_person")),
    )
    with op.batch_alter_table("directory_person", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_directory_person_family_name"), ["family_name"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_directory_person_organisation_finess"),
            ["organisation_finess"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_directory_person_profession"), ["profession"], unique=False
        )

    op.create_table(
        "directory_mailbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("person_rpps", sa.String(length=11), nullable=True),
        sa.Column("organisation_finess", sa.String(length=9), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("last_sequence", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_finess"],
            ["directory_organisation.finess"],
            name=op.f("fk_directory_mailbox_organisation_finess_directory_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["person_rpps"],
            ["directory_person.rpps"],
            name=op.f("fk_directory_mailbox_person_rpps_directory_person"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_mailbox")),
        sa.UniqueConstraint("address", name=op.f("uq_directory_mailbox_address")),
    )
    with op.batch_alter_table("directory_mailbox", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_directory_mailbox_organisation_finess"),
            ["organisation_finess"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_directory_mailbox_person_rpps"), ["person_rpps"], unique=False
        )

    op.create_table(
        "auth_access_token",
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("mailbox_id", sa.Integer(), nullable=False),
        sa.Column("serial_hex", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["mailbox_id"],
            ["directory_mailbox.id"],
            name=op.f("fk_auth_access_token_mailbox_id_directory_mailbox"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["serial_hex"],
            ["issued_certificate.serial_hex"],
            name=op.f("fk_auth_access_token_serial_hex_issued_certificate"),
        ),
        sa.PrimaryKeyConstraint("token_sha256", name=op.f("pk_auth_access_token")),
    )
    with op.batch_alter_table("auth_access_token", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_auth_access_token_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_auth_access_token_mailbox_id"), ["mailbox_id"], unique=False
        )

    op.create_table(
        "auth_challenge",
        sa.Column("challenge_sha256", sa.String(length=64), nullable=False),
        sa.Column("mailbox_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["mailbox_id"],
            ["directory_mailbox.id"],
            name=op.f("fk_auth_challenge_mailbox_id_directory_mailbox"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("challenge_sha256", name=op.f("pk_auth_challenge")),
    )
    with op.batch_alter_table("auth_challenge", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_auth_challenge_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_auth_challenge_mailbox_id"), ["mailbox_id"], unique=False
        )

    op.create_table(
        "auth_enrolment_code",
        sa.Column("code_sha256", sa.String(length=64), nullable=False),
        sa.Column("mailbox_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["mailbox_id"],
            ["directory_mailbox.id"],
            name=op.f("fk_auth_enrolment_code_mailbox_id_directory_mailbox"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("code_sha256", name=op.f("pk_auth_enrolment_code")),
    )
    with op.batch_alter_table("auth_enrolment_code", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_auth_enrolment_code_mailbox_id"), ["mailbox_id"], unique=False
        )

    op.create_table(
        "directory_mailbox_certificate",
        sa.Column("mailbox_id", sa.Integer(), nullable=False),
        sa.Column("serial_hex", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attached_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["mailbox_id"],
            ["directory_mailbox.id"],
            name=op.f("fk_directory_mailbox_certificate_mailbox_id_directory_mailbox"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["serial_hex"],
            ["issued_certificate.serial_hex"],
            name=op.f("fk_directory_mailbox_certificate_serial_hex_issued_certificate"),
        ),
        sa.PrimaryKeyConstraint(
            "mailbox_id", "serial_hex", name=op.f("pk_directory_mailbox_certificate")
        ),
    )
    with op.batch_alter_table("directory_mailbox_certificate", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_directory_mailbox_certificate_serial_hex"), ["serial_hex"], unique=False
        )

    op.create_table(
        "relay_message",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("sender_mailbox_id", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("ciphertext_sha256", sa.String(length=64), nullable=False),
        sa.Column("envelope_from", sa.String(length=320), nullable=False),
        sa.Column("envelope_to", sa.JSON(), nullable=False),
        sa.Column("envelope_date", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["sender_mailbox_id"],
            ["directory_mailbox.id"],
            name=op.f("fk_relay_message_sender_mailbox_id_directory_mailbox"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relay_message")),
        sa.UniqueConstraint("message_id", name=op.f("uq_relay_message_message_id")),
    )
    with op.batch_alter_table("relay_message", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_relay_message_accepted_at"), ["accepted_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_relay_message_ciphertext_sha256"), ["ciphertext_sha256"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_relay_message_sender_mailbox_id"), ["sender_mailbox_id"], unique=False
        )

    op.create_table(
        "relay_delivery",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_pk", sa.Integer(), nullable=False),
        sa.Column("mailbox_id", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["mailbox_id"],
            ["directory_mailbox.id"],
            name=op.f("fk_relay_delivery_mailbox_id_directory_mailbox"),
        ),
        sa.ForeignKeyConstraint(
            ["message_pk"],
            ["relay_message.id"],
            name=op.f("fk_relay_delivery_message_pk_relay_message"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relay_delivery")),
        sa.UniqueConstraint("mailbox_id", "sequence", name="uq_relay_delivery_mailbox_sequence"),
        sa.UniqueConstraint("message_pk", "mailbox_id", name="uq_relay_delivery_message_mailbox"),
    )
    with op.batch_alter_table("relay_delivery", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_relay_delivery_message_pk"), ["message_pk"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("relay_delivery", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_relay_delivery_message_pk"))

    op.drop_table("relay_delivery")
    with op.batch_alter_table("relay_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_relay_message_sender_mailbox_id"))
        batch_op.drop_index(batch_op.f("ix_relay_message_ciphertext_sha256"))
        batch_op.drop_index(batch_op.f("ix_relay_message_accepted_at"))

    op.drop_table("relay_message")
    with op.batch_alter_table("directory_mailbox_certificate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_directory_mailbox_certificate_serial_hex"))

    op.drop_table("directory_mailbox_certificate")
    with op.batch_alter_table("auth_enrolment_code", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_enrolment_code_mailbox_id"))

    op.drop_table("auth_enrolment_code")
    with op.batch_alter_table("auth_challenge", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_challenge_mailbox_id"))
        batch_op.drop_index(batch_op.f("ix_auth_challenge_expires_at"))

    op.drop_table("auth_challenge")
    with op.batch_alter_table("auth_access_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_access_token_mailbox_id"))
        batch_op.drop_index(batch_op.f("ix_auth_access_token_expires_at"))

    op.drop_table("auth_access_token")
    with op.batch_alter_table("directory_mailbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_directory_mailbox_person_rpps"))
        batch_op.drop_index(batch_op.f("ix_directory_mailbox_organisation_finess"))

    op.drop_table("directory_mailbox")
    with op.batch_alter_table("directory_person", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_directory_person_profession"))
        batch_op.drop_index(batch_op.f("ix_directory_person_organisation_finess"))
        batch_op.drop_index(batch_op.f("ix_directory_person_family_name"))

    op.drop_table("directory_person")
    with op.batch_alter_table("directory_organisation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_directory_organisation_name"))
        batch_op.drop_index(batch_op.f("ix_directory_organisation_city"))

    op.drop_table("directory_organisation")
