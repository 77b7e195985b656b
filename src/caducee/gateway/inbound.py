"""Inbound mail from other MSSanté operators (RFC 5321 relay, port 25 by default).

STARTTLS is offered (RFC 3207). MAIL FROM must be in a domain of the trust space (the
national white list or the local allow-list), else 550 5.7.1. Each internal recipient
needs a valid RSA certificate. At DATA the clear MIME is checked (``mail_check``: loops,
broken MIME, X-MSS-* headers, an unreadable IHE_XDM.ZIP are refused with 554), then the
message (with our Received line, RFC 5321 §4.4) is wrapped as ``message/rfc822`` and
encrypted at once for every recipient's certificate (public keys only, RFC 5652 §6):
only that ciphertext reaches the relay, under the original Message-ID, from the gateway's
own (closed) mailbox, recorded as ``ReceivedFromExternal`` evidence by the relay.
"""

from __future__ import annotations

import asyncio
import logging
from email.utils import formatdate
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from caducee.crypto.cms_envelope import envelope as cms_envelope
from caducee.crypto.smime import NEUTRAL_SUBJECT
from caducee.directory import DirectoryService, UnknownMailbox
from caducee.directory.models import Mailbox, MailboxKind
from caducee.gateway._mail import (
    INFRASTRUCTURE_ERRORS,
    domain_of,
    message_id_of,
    outer_date,
    refusal_for,
)
from caducee.gateway.config import GatewayConfig
from caducee.gateway.errors import (
    DomainNotTrusted,
    RecipientDisabled,
    RecipientNoCertificate,
    RecipientUnknown,
    RelayDenied,
    SMTPRefusal,
    TemporaryFailure,
)
from caducee.gateway.mail_check import check_mail
from caducee.gateway.trust_list import TrustList
from caducee.relay import DuplicateMessageId, RelayError, RelayService
from caducee.relay import Envelope as RelayEnvelope
from caducee.relay.models import Message
from caducee.relay.service import MAX_RECIPIENTS
from caducee.store import Database

__all__ = ["InboundHandler", "ensure_gateway_mailbox", "recipient_certificates"]

log = logging.getLogger(__name__)


async def ensure_gateway_mailbox(database: Database, address: str) -> int:
    """The id of the gateway's sender mailbox, created closed (it never receives)."""
    address = address.strip().lower()
    async with database.transaction() as session:
        found = await session.scalar(select(Mailbox.id).where(Mailbox.address == address))
        if found is not None:
            return int(found)
        row = Mailbox(address=address, kind=MailboxKind.APPLICATIVE.value, active=False)
        session.add(row)
        await session.flush()
        return int(row.id)


async def recipient_certificates(
    directory: DirectoryService, address: str
) -> list[x509.Certificate]:
    """The RSA certificates ``address`` can be encrypted to now, or an ``SMTPRefusal``."""
    try:
        mailbox = await directory.get_mailbox(address)
        certificates = await directory.valid_certificates(address)
    except UnknownMailbox:
        raise RecipientUnknown(f"no mailbox {address} here") from None
    if not mailbox.active:
        raise RecipientDisabled(f"the mailbox {address} is closed to new messages")
    usable = [c for c in certificates if isinstance(c.public_key(), rsa.RSAPublicKey)]
    if not usable:
        raise RecipientNoCertificate(
            f"the mailbox {address} has no valid encryption certificate yet: retry later"
        )
    return usable


class InboundHandler:
    """aiosmtpd handler for mail from the MSSanté trust space."""

    def __init__(
        self,
        relay: RelayService,
        directory: DirectoryService,
        trust_list: TrustList,
        config: GatewayConfig,
        gateway_mailbox_id: int,
    ) -> None:
        self.relay = relay
        self.directory = directory
        self.trust_list = trust_list
        self.config = config
        self.gateway_mailbox_id = gateway_mailbox_id

    async def handle_MAIL(  # noqa: N802 (aiosmtpd dispatches by name)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.config.inbound_require_tls and session.ssl is None:
            return "530 5.7.0 Must issue a STARTTLS command first"
        # A null reverse-path (bounces, RFC 5321 §4.5.5) is judged by the client's name.
        null = address.strip() in ("", "<>")
        domain = str(session.host_name or "").lower() if null else domain_of(address)
        if not self.trust_list.allows(domain):
            log.info("inbound refused: sender domain not in the trust space")
            return DomainNotTrusted(
                f"sender domain {domain or '(none)'} is not in the MSSanté trust space "
                "(liste blanche): mail refused"
            ).reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 Sender OK"

    async def handle_RCPT(  # noqa: N802 (aiosmtpd dispatches by name)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        try:
            if not self.config.is_internal(domain_of(address)):
                raise RelayDenied(f"relaying denied: {domain_of(address)} is not served here")
            await recipient_certificates(self.directory, address)
        except SMTPRefusal as refusal:
            return refusal.reply
        except INFRASTRUCTURE_ERRORS:
            log.exception("directory lookup failed")
            return TemporaryFailure("the directory did not answer: try again later").reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 2.1.5 Recipient OK"

    def _trace(self, session: Session, message_id: str) -> bytes:
        """Our Received line (RFC 5321 §4.4), ESMTPS when STARTTLS was used (RFC 3848)."""
        protocol = "ESMTPS" if session.ssl is not None else "ESMTP"
        helo = "".join(c for c in str(session.host_name or "unknown") if c.isprintable())[:100]
        peer = session.peer[0] if isinstance(session.peer, tuple) else "unknown"
        return (
            f"Received: from {helo} ([{peer}])\r\n\tby {self.config.hostname} "
            f"with {protocol} id {message_id[:64]};\r\n\t{formatdate(usegmt=True)}\r\n"
        ).encode("ascii", "replace")

    async def _already_accepted(self, message_id: str, sender: str) -> bool | None:
        """True: this very message was stored before; False: the id is someone else's."""
        async with self.relay.database.sessions() as db:
            row = await db.scalar(select(Message).where(Message.message_id == message_id))
        if row is None:
            return None
        return (
            row.sender_mailbox_id == self.gateway_mailbox_id
            and row.envelope_from == sender.strip().lower()
        )

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        content = envelope.original_content or b""
        sender = str(envelope.mail_from or "").strip()
        sender = "" if sender == "<>" else sender
        try:
            headers = check_mail(content, max_received=self.config.max_received_headers).message
            message_id = message_id_of(headers, content, "in")
            seen = await self._already_accepted(message_id, sender)
            if seen:
                return f"250 2.0.0 already accepted as {message_id}"
            if seen is False:  # a foreign id collision: keep ours distinct and stable
                message_id = message_id_of(headers, sender.encode() + content, "in")
            certificates: list[x509.Certificate] = []
            for address in envelope.rcpt_tos:
                certificates.extend(await recipient_certificates(self.directory, address))
            entity = (
                b"Content-Type: message/rfc822\r\n\r\n" + self._trace(session, message_id) + content
            )
            ciphertext = await asyncio.to_thread(cms_envelope, entity, certificates)
            receipt = await self.relay.submit(
                sender_mailbox_id=self.gateway_mailbox_id,
                sender_address=sender,
                envelope=RelayEnvelope(
                    message_id=message_id,
                    sender=sender,
                    recipients=tuple(envelope.rcpt_tos),
                    date=outer_date(headers),
                    subject=NEUTRAL_SUBJECT,
                ),
                ciphertext=ciphertext,
                external_origin=domain_of(sender) or str(session.host_name or "unknown")[:253],
            )
        except SMTPRefusal as refusal:
            log.info("inbound refused (%s)", refusal.code)
            return refusal.reply
        except DuplicateMessageId as error:  # a concurrent copy won the race, or a clash
            if await self._already_accepted(message_id, sender):
                return f"250 2.0.0 already accepted as {message_id}"
            return refusal_for(error).reply
        except RelayError as error:
            log.info("inbound refused (%s)", error.code)
            return refusal_for(error).reply
        except INFRASTRUCTURE_ERRORS:
            log.exception("inbound message could not be stored")
            return TemporaryFailure("the message could not be stored now: try again later").reply
        log.info(
            "inbound %s encrypted on arrival sha256=%s for %d recipient(s)",
            receipt.message_id,
            receipt.ciphertext_sha256,
            len(receipt.recipients),
        )
        return f"250 2.0.0 accepted as {receipt.message_id}"

    def smtp_options(self) -> dict[str, Any]:
        """The aiosmtpd ``SMTP`` options for the relay port (STARTTLS offered, no AUTH)."""
        return {
            "hostname": self.config.hostname,
            "ident": "Caducee MSSante gateway",
            "require_starttls": self.config.inbound_require_tls,
            "auth_required": False,
            "auth_exclude_mechanism": ["PLAIN", "LOGIN"],  # no AUTH between operators
            "data_size_limit": self.config.data_size_limit,
            "enable_SMTPUTF8": False,
        }
