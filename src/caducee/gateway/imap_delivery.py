"""Copy what the relay consigns into Dovecot over LMTP (RFC 2033), still encrypted.

A mailbox is given to Dovecot as soon as it has an active application password (its owner
uses a standard mail client). Each of its deliveries, in sequence order, is written as an
RFC 5322 message whose body is the stored CMS as ``application/pkcs7-mime`` (RFC 8551
§3.3): the outer headers are the relay's envelope (neutral subject), so Dovecot holds only
ciphertext. ``gateway_imap_cursor`` remembers the last sequence delivered: the copy is
at-least-once (a crash between LMTP's 250 and the cursor update repeats one message).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import smtplib
from collections.abc import Callable
from datetime import datetime

from asn1crypto import cms
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import undefer

from caducee.background import BackgroundLoop
from caducee.crypto.smime import NEUTRAL_SUBJECT
from caducee.directory.models import Mailbox
from caducee.gateway._mail import INFRASTRUCTURE_ERRORS
from caducee.gateway.models import IMAPCursor
from caducee.gateway.passwords import AppPassword
from caducee.relay.models import Delivery, Message
from caducee.store import BlobStore, Database
from caducee.store.models import utcnow

__all__ = ["IMAPDelivery", "smime_message"]

log = logging.getLogger(__name__)
BATCH = 100


def _b64_lines(data: bytes) -> bytes:
    encoded = base64.b64encode(data)
    return b"\r\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76)) + b"\r\n"


def smime_message(message: Message, recipient: str, der: bytes) -> bytes:
    """The stored ciphertext as a mail a client decrypts with the person's key."""
    try:
        kind = cms.ContentInfo.load(der)["content_type"].native
    except (ValueError, TypeError):
        kind = "enveloped_data"
    smime_type = (
        "authEnveloped-data" if kind == "authenticated_enveloped_data" else ("enveloped-data")
    )
    sender = message.envelope_from or "postmaster"
    head = (
        f"Return-Path: <{sender}>\r\nFrom: {sender}\r\nTo: {recipient}\r\n"
        f"Subject: {NEUTRAL_SUBJECT}\r\nDate: {message.envelope_date}\r\n"
        f"Message-ID: <{message.message_id}>\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: application/pkcs7-mime; smime-type={smime_type}; name="smime.p7m"\r\n'
        'Content-Disposition: attachment; filename="smime.p7m"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
    )
    return head.encode("utf-8") + _b64_lines(der)


def _lmtp_send(port: int, sender: str, recipient: str, data: bytes) -> None:
    with smtplib.LMTP("127.0.0.1", port, timeout=30) as client:
        client.sendmail(sender or "<>", [recipient], data)


class IMAPDelivery:
    """Push new deliveries of IMAP users into Dovecot; ``run_once`` or the polling task."""

    def __init__(
        self,
        database: Database,
        blobs: BlobStore,
        lmtp_port: int,
        *,
        poll_seconds: float = 1.0,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.database = database
        self.blobs = blobs
        self.lmtp_port = lmtp_port
        self.poll_seconds = poll_seconds
        self.now = now
        self._loop = BackgroundLoop("imap-delivery")

    async def _users(self) -> list[tuple[int, str, int]]:
        """(mailbox id, address, delivered sequence) of open mailboxes with a password."""
        async with self.database.sessions() as session:
            rows = await session.execute(
                select(Mailbox.id, Mailbox.address, IMAPCursor.delivered_sequence)
                .join(IMAPCursor, IMAPCursor.mailbox_id == Mailbox.id, isouter=True)
                .where(
                    Mailbox.active.is_(True),
                    Mailbox.id.in_(
                        select(AppPassword.mailbox_id).where(AppPassword.revoked_at.is_(None))
                    ),
                )
                .order_by(Mailbox.id)
            )
            return [(int(i), str(a), int(s or 0)) for i, a, s in rows]

    async def _advance(self, mailbox_id: int, sequence: int) -> None:
        async with self.database.transaction() as session:
            result = await session.execute(
                update(IMAPCursor)
                .where(IMAPCursor.mailbox_id == mailbox_id)
                .values(delivered_sequence=sequence, updated_at=self.now())
            )
            if getattr(result, "rowcount", 0) == 0:
                session.add(
                    IMAPCursor(
                        mailbox_id=mailbox_id, delivered_sequence=sequence, updated_at=self.now()
                    )
                )

    async def run_once(self) -> int:
        """Deliver what is new for every IMAP user; return how many messages went."""
        sent = 0
        for mailbox_id, address, cursor in await self._users():
            async with self.database.sessions() as session:
                rows = (
                    await session.execute(
                        select(Delivery.sequence, Message)
                        .join(Message, Message.id == Delivery.message_pk)
                        .options(undefer(Message.inline_ciphertext))
                        .where(Delivery.mailbox_id == mailbox_id, Delivery.sequence > cursor)
                        .order_by(Delivery.sequence)
                        .limit(BATCH)
                    )
                ).all()
            for sequence, message in rows:
                der = message.inline_ciphertext  # a small one is kept in its row
                if der is None:
                    der = await self.blobs.get(message.ciphertext_sha256)
                data = smime_message(message, address, der)
                await asyncio.to_thread(
                    _lmtp_send, self.lmtp_port, message.envelope_from, address, data
                )
                try:
                    await self._advance(mailbox_id, int(sequence))
                except IntegrityError:  # another process made the cursor row first
                    await self._advance(mailbox_id, int(sequence))
                sent += 1
                log.info("LMTP: %s (sequence %d) to mailbox %d", message.message_id, sequence,
                         mailbox_id)  # fmt: skip
        return sent

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once()
            except (*INFRASTRUCTURE_ERRORS, smtplib.SMTPException):
                log.exception("LMTP delivery pass failed; retrying")
            if not await self._loop.pause(self.poll_seconds):
                return

    def start(self) -> None:
        self._loop.start(self._run)

    async def stop(self) -> None:
        await self._loop.stop()
