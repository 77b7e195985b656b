"""Tables of the mail gateway: the outbound queue and the IMAP delivery cursors.

``OutboundMail`` is one message for one external domain (its recipients there), with its
retry state; the MIME bytes (the stated MSSanté exception: plaintext, DESIGN §1) sit in the
blob store under ``content_sha256`` until delivered or given up, then are deleted.
``IMAPCursor`` is, per mailbox given to Dovecot, the last relay sequence delivered over LMTP.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from caducee.store.models import Base

__all__ = ["IMAPCursor", "OutboundMail", "OutboundState"]


class OutboundState(enum.StrEnum):
    QUEUED = "queued"  # waiting for its next attempt
    SENT = "sent"  # the remote server said 250 (RelayToExternal recorded)
    FAILED = "failed"  # given up (5xx, or retries exhausted): a DSN went to the sender


class OutboundMail(Base):
    """One message to the recipients of one external domain, and its delivery attempts."""

    __tablename__ = "gateway_outbound"
    __table_args__ = (
        UniqueConstraint("message_id", "domain", name="uq_gateway_outbound_message_domain"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(200))
    sender: Mapped[str] = mapped_column(String(320))
    sender_mailbox_id: Mapped[int] = mapped_column(ForeignKey("directory_mailbox.id"), index=True)
    domain: Mapped[str] = mapped_column(String(253))
    recipients: Mapped[list[str]] = mapped_column(JSON)
    content_sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default=OutboundState.QUEUED.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    last_reply: Mapped[str | None] = mapped_column(String(512), default=None)


class IMAPCursor(Base):
    """The last relay sequence of a mailbox delivered into Dovecot over LMTP."""

    __tablename__ = "gateway_imap_cursor"

    mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("directory_mailbox.id", ondelete="CASCADE"), primary_key=True
    )
    delivered_sequence: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
