"""Relay tables: one ``Message`` per accepted submission, one ``Delivery`` per recipient.

A message row holds the outer envelope and digests; the ciphertext lives in the blob store
under its SHA-256, or, when it is small (most results are a few kilobytes), in the row
itself (``inline_ciphertext``, see :data:`caducee.relay.service.INLINE_MAX_BYTES`): then
the transaction that accepts the message also makes its bytes durable, with no file and
no flush of its own. ``Delivery.sequence`` is dense per mailbox (taken from
``Mailbox.last_sequence`` in the accepting transaction): cursors are sequence numbers.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column

from caducee.store.models import Base

__all__ = ["Delivery", "DeliveryState", "Message"]


class DeliveryState(enum.StrEnum):
    STORED = "stored"
    FETCHED = "fetched"
    ACKNOWLEDGED = "acknowledged"


class Message(Base):
    """An accepted ciphertext and its outer envelope (never its content)."""

    __tablename__ = "relay_message"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    sender_mailbox_id: Mapped[int] = mapped_column(ForeignKey("directory_mailbox.id"), index=True)
    size: Mapped[int] = mapped_column(Integer)
    ciphertext_sha256: Mapped[str] = mapped_column(String(64), index=True)
    envelope_from: Mapped[str] = mapped_column(String(320))
    envelope_to: Mapped[list[str]] = mapped_column(JSON)
    envelope_date: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(200))
    accepted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    # A small ciphertext's bytes (read only by a fetch: loading the row leaves them out).
    inline_ciphertext: Mapped[bytes | None] = deferred(mapped_column(LargeBinary, default=None))


class Delivery(Base):
    """A message's consignment into one recipient mailbox, and what its agent did with it."""

    __tablename__ = "relay_delivery"
    __table_args__ = (
        UniqueConstraint("mailbox_id", "sequence", name="uq_relay_delivery_mailbox_sequence"),
        UniqueConstraint("message_pk", "mailbox_id", name="uq_relay_delivery_message_mailbox"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # No index of its own: the unique (message_pk, mailbox_id) one leads with it.
    message_pk: Mapped[int] = mapped_column(ForeignKey("relay_message.id", ondelete="CASCADE"))
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("directory_mailbox.id"))
    sequence: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default=DeliveryState.STORED.value)
    stored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    fetched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    # The recipient's signed acknowledgement (CMS SignedData, DER), when its agent sent one.
    acknowledgement: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
