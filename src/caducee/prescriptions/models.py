"""Tables of the prescriptions service (registered on ``Base.metadata``).

``rx_task`` is the gematik Task: status, the signed bundle (CMS), who holds it. Secrets
(access codes, pharmacy secrets, card challenges and grants) are stored as SHA-256 only. A
cancelled task keeps its status and evidence but loses its bundle (gematik ``$abort``).
``rx_access_event`` is the patient's access log (who, when, what); evidence records in the
ledger carry ids and digests only, never the NIR.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from caducee.store.models import Base, utcnow

__all__ = [
    "AccessEvent",
    "CardChallenge",
    "CardGrant",
    "DispenseLine",
    "Drug",
    "PatientPreference",
    "Task",
]


class Task(Base):
    __tablename__ = "rx_task"

    id: Mapped[str] = mapped_column(String(22), primary_key=True)  # FFF.NNN.NNN.NNN.NNN.CC
    status: Mapped[str] = mapped_column(String(16), index=True)
    prescriber_mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("directory_mailbox.id"), index=True
    )
    prescriber_address: Mapped[str] = mapped_column(String(320))
    access_code_sha256: Mapped[str] = mapped_column(String(64))
    patient_nir: Mapped[str | None] = mapped_column(String(15), index=True, default=None)
    bundle_cms: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    bundle_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    lines: Mapped[int] = mapped_column(Integer, default=0)
    pharmacy_mailbox_id: Mapped[int | None] = mapped_column(Integer, default=None)
    pharmacy_address: Mapped[str | None] = mapped_column(String(320), default=None)
    secret_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    accept_nonce: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    expires_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), index=True, default=None
    )
    cancel_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    receipt_json: Mapped[str | None] = mapped_column(Text, default=None)
    evidence_sha256: Mapped[str | None] = mapped_column(String(64), default=None)


class DispenseLine(Base):
    """One MedicationDispense: what the pharmacy did for one line of the prescription."""

    __tablename__ = "rx_dispense"
    __table_args__ = (UniqueConstraint("task_id", "line"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("rx_task.id", ondelete="CASCADE"), index=True)
    line: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))
    code: Mapped[str | None] = mapped_column(String(13), default=None)
    quantity: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str | None] = mapped_column(String(200), default=None)
    handed_over_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CardChallenge(Base):
    __tablename__ = "rx_card_challenge"

    nonce_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    audience: Mapped[str] = mapped_column(String(320))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class CardGrant(Base):
    """Access earned by a card: one patient, one audience (a pharmacy's mailbox, or the patient)."""

    __tablename__ = "rx_card_grant"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    nir: Mapped[str] = mapped_column(String(15), index=True)
    audience: Mapped[str] = mapped_column(String(320))
    mailbox_id: Mapped[int | None] = mapped_column(Integer, default=None)
    card_fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class AccessEvent(Base):
    """One access to a patient's prescriptions, shown to the patient."""

    __tablename__ = "rx_access_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    nir: Mapped[str] = mapped_column(String(15), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(32))
    prescription_id: Mapped[str | None] = mapped_column(String(22), default=None)
    detail: Mapped[str] = mapped_column(String(200), default="")


class PatientPreference(Base):
    __tablename__ = "rx_patient_preference"

    nir: Mapped[str] = mapped_column(String(15), primary_key=True)
    history_refused: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Drug(Base):
    """A presentation of the drug database (BDPM), searchable by its label."""

    __tablename__ = "rx_drug"

    cip13: Mapped[str] = mapped_column(String(13), primary_key=True)
    cis: Mapped[str] = mapped_column(String(8), index=True)
    label: Mapped[str] = mapped_column(String(300))
    search: Mapped[str] = mapped_column(String(300), index=True)  # lower case, no accents
    form: Mapped[str] = mapped_column(String(100), default="")
    marketed: Mapped[bool] = mapped_column(Boolean, default=True)
