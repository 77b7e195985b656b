"""Tables of MISS: services and roles, on-call shifts, devices, cases and their messages.

- ``instant_unit``: a service ("cardiologie, CHU X") or a role in a service ("cardiologue de
  garde"), of one organisation; a service names its head, a role its escalation delay.
- ``instant_unit_member``: the people (personal mailbox addresses) of a service or a role.
- ``instant_shift``: who is on duty for a role, as primary or backup, over ``[starts, ends)``
  in UTC (local schedules are converted once, by :func:`caducee.instant.oncall.local_shift`).
- ``instant_device``: a device statement (public keys only), registered and maybe revoked.
- ``instant_case``: a conversation bound to a patient; the patient lives only inside the
  ciphertexts, never here. ``last_sequence`` numbers its messages densely.
- ``instant_participant``: who is in a case, since when, and whether still.
- ``instant_message``: opaque ciphertext plus routing metadata, unique on ``message_id``.
- ``instant_retention``: how many days an organisation keeps the messages of its cases
  (``caducee.instant.retention``); a case belongs to the organisation of the role it was
  addressed to, else to its creator's (``instant_case.organisation_finess``, set at creation).
- ``instant_push_subscription``: a device's Web Push endpoint (no payload is ever sent).
- ``instant_push_claim``: when a device was last pushed for a case, claimed by one server
  process (pushes are coalesced across processes, not only within one).
- ``instant_pairing``: a browser's public keys waiting (10 minutes) for the person's approval,
  found by the SHA-256 of its short code; never any private material.
- ``instant_device_challenge`` and ``instant_device_token``: a device's login (a challenge its
  Ed25519 key signs) and the short-lived tokens it earns, kept as SHA-256 digests.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from caducee.store.models import Base, utcnow

__all__ = [
    "Case",
    "CaseMessage",
    "Device",
    "DeviceChallenge",
    "DeviceToken",
    "PairingRequest",
    "Participant",
    "PushClaim",
    "PushSubscription",
    "Retention",
    "Shift",
    "Unit",
    "UnitMember",
]

ADDRESS = 320


class Unit(Base):
    """A service of an organisation, or a role inside a service."""

    __tablename__ = "instant_unit"
    __table_args__ = (UniqueConstraint("organisation_finess", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organisation_finess: Mapped[str] = mapped_column(
        ForeignKey("directory_organisation.finess", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # "service" or "role"
    name: Mapped[str] = mapped_column(String(200))
    service_id: Mapped[int | None] = mapped_column(
        ForeignKey("instant_unit.id", ondelete="CASCADE"), default=None, index=True
    )
    head_address: Mapped[str | None] = mapped_column(String(ADDRESS), default=None)
    escalation_seconds: Mapped[int] = mapped_column(Integer, default=600)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class UnitMember(Base):
    """A person (their personal mailbox address) who belongs to a service or a role."""

    __tablename__ = "instant_unit_member"

    unit_id: Mapped[int] = mapped_column(
        ForeignKey("instant_unit.id", ondelete="CASCADE"), primary_key=True
    )
    address: Mapped[str] = mapped_column(String(ADDRESS), primary_key=True, index=True)


class Shift(Base):
    """One person on duty for a role over ``[starts_at, ends_at)``, as primary or backup."""

    __tablename__ = "instant_shift"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    role_id: Mapped[int] = mapped_column(
        ForeignKey("instant_unit.id", ondelete="CASCADE"), index=True
    )
    address: Mapped[str] = mapped_column(String(ADDRESS))
    position: Mapped[str] = mapped_column(String(16))  # "primary" or "backup"
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Device(Base):
    """A person's device: its signed statement and public keys; revoked, never deleted."""

    __tablename__ = "instant_device"

    device_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    address: Mapped[str] = mapped_column(String(ADDRESS), index=True)
    certificate_serial: Mapped[str] = mapped_column(String(64))
    kem: Mapped[int] = mapped_column(Integer)
    hpke_public: Mapped[bytes] = mapped_column(LargeBinary)
    signing_public: Mapped[bytes] = mapped_column(LargeBinary)
    statement: Mapped[bytes] = mapped_column(LargeBinary)
    statement_sha256: Mapped[str] = mapped_column(String(64))
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    # What the person calls it ("Chrome, salle de soins"), shown to them only; not signed.
    label: Mapped[str | None] = mapped_column(String(100), default=None)


class Case(Base):
    """A conversation about one patient (who is named only inside the ciphertexts)."""

    __tablename__ = "instant_case"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    created_by: Mapped[str] = mapped_column(String(ADDRESS))
    role_id: Mapped[int | None] = mapped_column(
        ForeignKey("instant_unit.id", ondelete="SET NULL"), default=None, index=True
    )
    last_sequence: Mapped[int] = mapped_column(Integer, default=0)
    # Escalation: the step reached (0 = primary), when the next one is due, who took it.
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    escalation_message_id: Mapped[str | None] = mapped_column(String(200), default=None)
    escalation_due_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), default=None, index=True
    )
    acknowledged_by: Mapped[str | None] = mapped_column(String(ADDRESS), default=None)
    # Whose retention applies: the role's organisation, else the creator's (None: no limit).
    organisation_finess: Mapped[str | None] = mapped_column(
        ForeignKey("directory_organisation.finess", ondelete="SET NULL"), default=None, index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Retention(Base):
    """How long an organisation keeps its cases' messages (``days`` None: no limit)."""

    __tablename__ = "instant_retention"

    organisation_finess: Mapped[str] = mapped_column(
        ForeignKey("directory_organisation.finess", ondelete="CASCADE"), primary_key=True
    )
    days: Mapped[int | None] = mapped_column(Integer, default=None)
    updated_by: Mapped[str] = mapped_column(String(ADDRESS))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PushSubscription(Base):
    """A device's push endpoint (RFC 8030); its encryption keys are not kept: pushes are empty."""

    __tablename__ = "instant_push_subscription"

    device_id: Mapped[str] = mapped_column(
        ForeignKey("instant_device.device_id", ondelete="CASCADE"), primary_key=True
    )
    endpoint: Mapped[str] = mapped_column(String(2048), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PushClaim(Base):
    """The last push to a device for a case: whoever moves ``pushed_at`` forward sends it."""

    __tablename__ = "instant_push_claim"

    device_id: Mapped[str] = mapped_column(
        ForeignKey("instant_device.device_id", ondelete="CASCADE"), primary_key=True
    )
    case_id: Mapped[str] = mapped_column(
        ForeignKey("instant_case.id", ondelete="CASCADE"), primary_key=True
    )
    pushed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class Participant(Base):
    """A person in a case (added directly, or resolved from a role)."""

    __tablename__ = "instant_participant"

    case_id: Mapped[str] = mapped_column(
        ForeignKey("instant_case.id", ondelete="CASCADE"), primary_key=True
    )
    address: Mapped[str] = mapped_column(String(ADDRESS), primary_key=True, index=True)
    via_role_id: Mapped[int | None] = mapped_column(Integer, default=None)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class CaseMessage(Base):
    """Ciphertext and routing metadata; ``message_id`` is unique (replay protection)."""

    __tablename__ = "instant_message"

    case_id: Mapped[str] = mapped_column(
        ForeignKey("instant_case.id", ondelete="CASCADE"), primary_key=True
    )
    sequence: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    sender_address: Mapped[str] = mapped_column(String(ADDRESS))
    sender_device_id: Mapped[str] = mapped_column(String(128))
    recipient_device_id: Mapped[str | None] = mapped_column(String(128), default=None)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    ciphertext_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PairingRequest(Base):
    """A browser's public keys and label, waiting for the person to approve them."""

    __tablename__ = "instant_pairing"

    code_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    address: Mapped[str] = mapped_column(String(ADDRESS), index=True)
    device_id: Mapped[str] = mapped_column(String(128))
    label: Mapped[str] = mapped_column(String(100))
    kem: Mapped[int] = mapped_column(Integer)
    hpke_public: Mapped[bytes] = mapped_column(LargeBinary)
    signing_public: Mapped[bytes] = mapped_column(LargeBinary)
    keys_created_at: Mapped[int] = mapped_column(Integer)  # seconds, as the statement has it
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class DeviceChallenge(Base):
    """A login challenge for one device, used once."""

    __tablename__ = "instant_device_challenge"

    challenge_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class DeviceToken(Base):
    """A device's access token (its digest): the instant API and the hub only."""

    __tablename__ = "instant_device_token"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(128), index=True)
    address: Mapped[str] = mapped_column(String(ADDRESS))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
