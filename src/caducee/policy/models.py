"""Tables of the policy part: establishments' charter, limits, holds, moderation, reports.

- ``policy_charter``: every published version of the charter of good use (text + SHA-256).
- ``policy_establishment``: an organisation registered by the operator, with its manager.
- ``policy_manager`` / ``policy_moderator``: who may act for an establishment / moderate.
- ``policy_charter_signature``: a manager's acceptance of one charter version (+ evidence).
- ``policy_sending_limit``: token-bucket limits per scope (organisation, type, mailbox kind).
- ``policy_contact``: who a sender has already written to (first contacts are counted).
- ``policy_hold``: a message held in quarantine (its ciphertext stays in the blob store).
- ``policy_report`` / ``policy_sanction``: recipients' reports, graduated sanctions.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from caducee.store.models import Base, utcnow

__all__ = [
    "Charter",
    "CharterSignature",
    "Contact",
    "Establishment",
    "Hold",
    "Manager",
    "Moderator",
    "Report",
    "Sanction",
    "SendingLimit",
]


class Charter(Base):
    """One version of the charter of good use; the newest is the one to sign."""

    __tablename__ = "policy_charter"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Establishment(Base):
    """An organisation the operator registered (its application), with its manager."""

    __tablename__ = "policy_establishment"

    finess: Mapped[str] = mapped_column(
        ForeignKey("directory_organisation.finess", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(16), default="registered")
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Manager(Base):
    """A person who manages one establishment (signs its charter, manages its people)."""

    __tablename__ = "policy_manager"

    finess: Mapped[str] = mapped_column(
        ForeignKey("directory_organisation.finess", ondelete="CASCADE"), primary_key=True
    )
    rpps: Mapped[str] = mapped_column(
        ForeignKey("directory_person.rpps", ondelete="CASCADE"), primary_key=True, index=True
    )
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Moderator(Base):
    """A person of the operator's team who may release or refuse held messages."""

    __tablename__ = "policy_moderator"

    rpps: Mapped[str] = mapped_column(
        ForeignKey("directory_person.rpps", ondelete="CASCADE"), primary_key=True
    )
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CharterSignature(Base):
    """An establishment's acceptance of one charter version, and its evidence leaf."""

    __tablename__ = "policy_charter_signature"
    __table_args__ = (
        UniqueConstraint("finess", "version", name="uq_policy_charter_signature_finess_version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    finess: Mapped[str] = mapped_column(
        ForeignKey("directory_organisation.finess", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(ForeignKey("policy_charter.version"))
    charter_sha256: Mapped[str] = mapped_column(String(64))
    signer_rpps: Mapped[str] = mapped_column(ForeignKey("directory_person.rpps"))
    signer_address: Mapped[str] = mapped_column(String(320))
    signed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    evidence_index: Mapped[int | None] = mapped_column(Integer, default=None)


class SendingLimit(Base):
    """Limits for one scope: ``*``, ``kind:K``, ``type:T``, ``type:T:K``, ``org:F``, ``org:F:K``."""

    __tablename__ = "policy_sending_limit"

    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    recipients_per_message: Mapped[int] = mapped_column(Integer)
    messages_per_hour: Mapped[int] = mapped_column(Integer)
    new_recipients_per_hour: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Contact(Base):
    """A sender has written to this address before (kept by the relay's commit hook)."""

    __tablename__ = "policy_contact"

    sender_mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("directory_mailbox.id", ondelete="CASCADE"), primary_key=True
    )
    recipient: Mapped[str] = mapped_column(String(320), primary_key=True)
    first_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Hold(Base):
    """A submission held in quarantine: its envelope, digest, reason and the decision."""

    __tablename__ = "policy_hold"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    sender_mailbox_id: Mapped[int] = mapped_column(ForeignKey("directory_mailbox.id"), index=True)
    sender: Mapped[str] = mapped_column(String(320))
    recipients: Mapped[list[str]] = mapped_column(JSON)
    envelope_date: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(Integer)
    ciphertext_sha256: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default="held", index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    decided_by: Mapped[str | None] = mapped_column(String(320), default=None)


class Report(Base):
    """A recipient's report of an unwanted message (one per message and reporter)."""

    __tablename__ = "policy_report"
    __table_args__ = (
        UniqueConstraint("message_id", "reporter_mailbox_id", name="uq_policy_report_message"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(200), index=True)
    reporter_mailbox_id: Mapped[int] = mapped_column(ForeignKey("directory_mailbox.id"))
    sender_mailbox_id: Mapped[int] = mapped_column(ForeignKey("directory_mailbox.id"), index=True)
    reason: Mapped[str] = mapped_column(String(32))
    comment: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), default="open")


class Sanction(Base):
    """A graduated sanction on a sender: warning, hold (every message moderated), block."""

    __tablename__ = "policy_sanction"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("directory_mailbox.id"), index=True)
    level: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(320))
    lifted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
