"""Directory tables: organisations, people, mailboxes, their certificates and credentials.

Mailboxes carry ``last_sequence``: the relay bumps it in the same transaction that stores a
delivery, so sequence numbers per mailbox are dense and committed in order (cursors).
Secrets (challenges, access tokens, enrolment codes) are stored as SHA-256 digests only.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from caducee.store.models import Base, utcnow

__all__ = [
    "AccessToken",
    "AuthChallenge",
    "CertificateStatus",
    "EnrolmentCode",
    "Mailbox",
    "MailboxCertificate",
    "MailboxKind",
    "Organisation",
    "OrganisationType",
    "Person",
]


class OrganisationType(enum.StrEnum):
    LAB = "lab"
    UNIVERSITY_HOSPITAL = "university_hospital"
    GENERAL_HOSPITAL = "general_hospital"
    CLINIC = "clinic"
    GP_PRACTICE = "gp_practice"
    NURSING_HOME = "nursing_home"
    PHARMACY = "pharmacy"


class MailboxKind(enum.StrEnum):
    PERSONAL = "personal"
    ORGANISATIONAL = "organisational"
    APPLICATIVE = "applicative"


class CertificateStatus(enum.StrEnum):
    ACTIVE = "active"
    SUPERSEDED = "superseded"
    REVOKED = "revoked"


class Organisation(Base):
    """A legal or geographic establishment, keyed by its FINESS-like number."""

    __tablename__ = "directory_organisation"

    finess: Mapped[str] = mapped_column(String(9), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    type: Mapped[str] = mapped_column(String(32))
    beds: Mapped[int | None] = mapped_column(Integer, default=None)
    address: Mapped[str] = mapped_column(String(300), default="")
    postcode: Mapped[str] = mapped_column(String(10), default="")
    city: Mapped[str] = mapped_column(String(100), default="", index=True)
    region: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Person(Base):
    """A health professional, keyed by an RPPS-like number."""

    __tablename__ = "directory_person"

    rpps: Mapped[str] = mapped_column(String(11), primary_key=True)
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100), index=True)
    profession: Mapped[str] = mapped_column(String(100), index=True)
    specialty: Mapped[str | None] = mapped_column(String(100), default=None)
    organisation_finess: Mapped[str | None] = mapped_column(
        ForeignKey("directory_organisation.finess"), default=None, index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Mailbox(Base):
    """An address owned by a person (personal) or an organisation (the other kinds)."""

    __tablename__ = "directory_mailbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    address: Mapped[str] = mapped_column(String(320), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    person_rpps: Mapped[str | None] = mapped_column(
        ForeignKey("directory_person.rpps"), default=None, index=True
    )
    organisation_finess: Mapped[str | None] = mapped_column(
        ForeignKey("directory_organisation.finess"), default=None, index=True
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_sequence: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class MailboxCertificate(Base):
    """A certificate (issued by the operator CA) that speaks for a mailbox."""

    __tablename__ = "directory_mailbox_certificate"

    mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("directory_mailbox.id", ondelete="CASCADE"), primary_key=True
    )
    serial_hex: Mapped[str] = mapped_column(
        ForeignKey("issued_certificate.serial_hex"), primary_key=True, index=True
    )
    status: Mapped[str] = mapped_column(String(16), default=CertificateStatus.ACTIVE.value)
    attached_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuthChallenge(Base):
    """A single-use random challenge an agent signs to prove it holds a mailbox's key."""

    __tablename__ = "auth_challenge"

    challenge_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("directory_mailbox.id", ondelete="CASCADE"), index=True
    )
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class AccessToken(Base):
    """A short-lived bearer token, bound to a mailbox and to the certificate that earned it."""

    __tablename__ = "auth_access_token"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("directory_mailbox.id", ondelete="CASCADE"), index=True
    )
    serial_hex: Mapped[str] = mapped_column(ForeignKey("issued_certificate.serial_hex"))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class EnrolmentCode(Base):
    """A one-time code the operator hands to a person to get a certificate for a mailbox."""

    __tablename__ = "auth_enrolment_code"

    code_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("directory_mailbox.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
