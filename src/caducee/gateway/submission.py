"""Message submission for standard mail clients (RFC 6409), on port 587 by default.

STARTTLS is required before anything else (RFC 3207 §4: 530 otherwise), then AUTH PLAIN
or LOGIN (RFC 4954, RFC 4616) with an application password; MAIL FROM must be the
authenticated mailbox. Internal recipients get only S/MIME encrypted messages
(``application/pkcs7-mime``, enveloped-data or authEnveloped-data, RFC 8551 §3.3): the CMS
is handed to ``RelayService.submit``, the path the HTTP API takes. The outer headers of
the mail (Subject included) are not stored: the relay records a neutral subject.
"""

from __future__ import annotations

import base64
import binascii
import logging
from email.message import Message
from email.parser import BytesParser
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session

from caducee.crypto.smime import NEUTRAL_SUBJECT
from caducee.directory import DirectoryService, UnknownMailbox
from caducee.gateway._mail import (
    INFRASTRUCTURE_ERRORS,
    TTLCache,
    domain_of,
    message_id_of,
    outer_date,
    refusal_for,
)
from caducee.gateway.config import GatewayConfig
from caducee.gateway.errors import (
    BadCredentials,
    NotEncrypted,
    RecipientDisabled,
    RecipientUnknown,
    RelayDenied,
    SenderNotAllowed,
    SMTPRefusal,
    TemporaryFailure,
)
from caducee.gateway.external import check_external_recipient, queue_external
from caducee.gateway.mail_check import CheckedMail, check_mail
from caducee.gateway.outbound import OutboundQueue
from caducee.gateway.passwords import AppPasswordService, SMTPIdentity
from caducee.gateway.trust_list import TrustList
from caducee.relay import Envelope as RelayEnvelope
from caducee.relay import NotSMIME, RelayError, RelayService, check_encrypted_cms
from caducee.relay.service import MAX_RECIPIENTS

__all__ = ["SMIME_CONTENT_TYPES", "SMIME_ENCRYPTED_TYPES", "SubmissionHandler", "extract_cms"]

log = logging.getLogger(__name__)

SMIME_CONTENT_TYPES = frozenset({"application/pkcs7-mime", "application/x-pkcs7-mime"})
SMIME_ENCRYPTED_TYPES = frozenset({"enveloped-data", "authenveloped-data"})
CLEAR_TEXT_REFUSAL = (
    "Refused: mail to Caducée addresses must be encrypted with S/MIME "
    "(application/pkcs7-mime, enveloped-data) and this message is not. "
    "Turn on S/MIME encryption in your mail client, using the recipient's certificate "
    "from the Caducée directory, or send the message from the Caducée agent."
)
CHECK_TTL_SECONDS = 10.0  # recipient-open and password-not-revoked answers are reused this long
_INVALID = AuthResult(success=False, handled=False)  # smtp_AUTH answers 535 5.7.8
_HANDLED = AuthResult(success=False, handled=True)  # a reply was already pushed


def extract_cms(content: bytes) -> bytes:
    """The DER CMS of an S/MIME encrypted message, or ``NotEncrypted`` (RFC 8551 §3.3)."""
    return _parse_smime(content)[1]


def _parse_smime(content: bytes) -> tuple[Message, bytes]:
    message = BytesParser().parsebytes(content)
    smime_type = str(message.get_param("smime-type", "") or "").lower()
    if message.get_content_type() not in SMIME_CONTENT_TYPES or (
        smime_type not in SMIME_ENCRYPTED_TYPES
    ):
        raise NotEncrypted(CLEAR_TEXT_REFUSAL)
    payload = message.get_payload(decode=True)
    if not isinstance(payload, bytes) or not payload:
        raise NotEncrypted(CLEAR_TEXT_REFUSAL)
    try:
        check_encrypted_cms(payload)
    except NotSMIME:
        raise NotEncrypted(CLEAR_TEXT_REFUSAL) from None
    return message, payload


def _identity(session: Session) -> SMTPIdentity:
    """The identity AUTH stored on the session (``auth_required`` makes sure there is one)."""
    identity = session.auth_data
    if not isinstance(identity, SMTPIdentity):
        raise RuntimeError("an unauthenticated session reached a mail command")
    return identity


class SubmissionHandler:
    """aiosmtpd handler: AUTH mechanisms and MAIL/RCPT/DATA hooks for submission."""

    def __init__(
        self,
        relay: RelayService,
        directory: DirectoryService,
        passwords: AppPasswordService,
        config: GatewayConfig,
        *,
        trust_list: TrustList | None = None,
        outbound: OutboundQueue | None = None,
    ) -> None:
        self.relay = relay
        self.directory = directory
        self.passwords = passwords
        self.config = config
        self.trust_list = trust_list
        self.outbound = outbound
        self._open_mailboxes: TTLCache[str, bool] = TTLCache(CHECK_TTL_SECONDS)
        self._valid_passwords: TTLCache[int, bool] = TTLCache(CHECK_TTL_SECONDS)

    async def _password_valid(self, identity: SMTPIdentity) -> bool:
        """Not revoked since AUTH (checked at most every ``CHECK_TTL_SECONDS``)."""
        if self._valid_passwords.get(identity.password_id):
            return True
        valid = await self.passwords.still_valid(identity)
        if valid:
            self._valid_passwords.put(identity.password_id, True)
        return valid

    async def _check_recipient(self, address: str) -> None:
        """Known and open, or an ``SMTPRefusal``; the relay checks again with authority."""
        key = address.strip().lower()
        if self._open_mailboxes.get(key):
            return
        try:
            mailbox = await self.directory.get_mailbox(address)
        except UnknownMailbox:
            raise RecipientUnknown(f"no mailbox {address} in the Caducée directory") from None
        if not mailbox.active:
            raise RecipientDisabled(f"the mailbox {address} is closed to new messages")
        self._open_mailboxes.put(key, True)

    # RFC 4954 §4 / RFC 4616: AUTH PLAIN [initial-response]; AUTH LOGIN (two challenges).
    async def _check(self, login: bytes, password: bytes) -> AuthResult:
        try:
            identity = await self.passwords.authenticate(
                login.decode("utf-8"), password.decode("utf-8")
            )
        except (BadCredentials, UnicodeDecodeError):
            log.info("SMTP AUTH refused")
            return _INVALID
        log.info("SMTP AUTH mailbox %d (password %d)", identity.mailbox_id, identity.password_id)
        return AuthResult(success=True, auth_data=identity)

    @staticmethod
    async def _decode(server: SMTP, value: str) -> bytes | None:
        try:
            return base64.b64decode(value.encode(), validate=True)
        except (binascii.Error, ValueError):
            await server.push("501 5.5.2 Cannot decode base64")
            return None

    async def auth_PLAIN(self, server: SMTP, args: list[str]) -> AuthResult:  # noqa: N802
        if len(args) == 1:
            blob = await server.challenge_auth("")
            if not isinstance(blob, bytes):
                return _HANDLED
        else:
            decoded = await self._decode(server, args[1])
            if decoded is None:
                return _HANDLED
            blob = decoded
        parts = blob.split(b"\x00")
        if len(parts) != 3:
            await server.push("501 5.5.2 Cannot split the PLAIN credentials")
            return _HANDLED
        return await self._check(parts[1], parts[2])

    async def auth_LOGIN(self, server: SMTP, args: list[str]) -> AuthResult:  # noqa: N802
        if len(args) == 1:
            login = await server.challenge_auth("Username:")
            if not isinstance(login, bytes):
                return _HANDLED
        else:
            decoded = await self._decode(server, args[1])
            if decoded is None:
                return _HANDLED
            login = decoded
        password = await server.challenge_auth("Password:")
        if not isinstance(password, bytes):
            return _HANDLED
        return await self._check(login, password)

    # RFC 5321 §4.1.1.2: the reverse-path must be the authenticated person's address.
    async def handle_MAIL(  # noqa: N802 (aiosmtpd dispatches by name)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        identity = _identity(session)
        if address.strip().lower() != identity.address:
            return SenderNotAllowed(
                f"MAIL FROM must be your own address {identity.address}, "
                "the one you authenticated as"
            ).reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 Sender OK"

    # RFC 5321 §4.1.1.3: each recipient is checked against the directory now.
    async def handle_RCPT(  # noqa: N802 (aiosmtpd dispatches by name)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        try:
            domain = domain_of(address)
            if not self.config.is_internal(domain):
                self._check_external(address)
                envelope.rcpt_tos.append(address)
                envelope.rcpt_options.extend(options)
                return "250 2.1.5 Recipient OK (other operator: relayed over TLS)"
            await self._check_recipient(address)
        except SMTPRefusal as refusal:
            return refusal.reply
        except INFRASTRUCTURE_ERRORS:
            log.exception("directory lookup failed")
            return TemporaryFailure("the directory did not answer: try again later").reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 2.1.5 Recipient OK"

    def _check_external(self, address: str) -> None:
        """Another operator's address: relayed only into the MSSanté trust space."""
        if self.outbound is None or self.trust_list is None:
            raise RelayDenied(
                "mail to other domains is not relayed by this server: "
                "send it from the Caducée agent"
            )
        check_external_recipient(self.config, self.trust_list, address)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        identity = _identity(session)
        content = envelope.original_content or b""
        internal = [a for a in envelope.rcpt_tos if self.config.is_internal(domain_of(a))]
        external = [a for a in envelope.rcpt_tos if a not in internal]
        try:
            if not await self._password_valid(identity):
                return "535 5.7.8 This application password was revoked"
            checked = self._check_external_mail(content) if external else None
            if not internal:
                assert checked is not None
                queued = await self._queue_external(identity, external, content, checked)
                return f"250 2.0.0 queued as {queued} for {len(external)} external recipient(s)"
            headers, der = _parse_smime(content)
            message_id = message_id_of(headers, der, "smtp")
            receipt = await self.relay.submit(
                sender_mailbox_id=identity.mailbox_id,
                sender_address=identity.address,
                envelope=RelayEnvelope(
                    message_id=message_id,
                    sender=str(envelope.mail_from),
                    recipients=tuple(internal),
                    date=outer_date(headers),
                    subject=NEUTRAL_SUBJECT,
                ),
                ciphertext=der,
            )
            if checked is not None:
                await self._queue_external(identity, external, content, checked)
        except SMTPRefusal as refusal:
            log.info("submission refused (%s) for mailbox %d", refusal.code, identity.mailbox_id)
            return refusal.reply
        except RelayError as error:
            log.info("submission refused (%s) for mailbox %d", error.code, identity.mailbox_id)
            return refusal_for(error).reply
        except INFRASTRUCTURE_ERRORS:
            log.exception("submission could not be stored")
            return TemporaryFailure("the message could not be stored now: try again later").reply
        state = "accepted" if receipt.created else "already accepted"
        return f"250 2.0.0 {state} as {receipt.message_id} sha256={receipt.ciphertext_sha256[:16]}"

    def _check_external_mail(self, content: bytes) -> CheckedMail:
        """MIME, X-MSS-*, XDM and loop checks for mail leaving for other operators."""
        if self.outbound is None:
            raise RelayDenied("mail to other domains is not relayed by this server")
        return check_mail(content, max_received=self.config.max_received_headers)

    async def _queue_external(
        self, identity: SMTPIdentity, external: list[str], content: bytes, checked: CheckedMail
    ) -> str:
        """Queue checked mail for other operators (idempotent on the Message-ID)."""
        assert self.outbound is not None
        return await queue_external(
            self.outbound,
            self.config,
            sender=identity.address,
            sender_mailbox_id=identity.mailbox_id,
            recipients=external,
            content=content,
            checked=checked,
        )

    def smtp_options(self) -> dict[str, Any]:
        """The aiosmtpd ``SMTP`` options for submission (secure defaults, RFC 3207/4954)."""
        return {
            "hostname": self.config.hostname,
            "ident": "Caducee submission",
            "require_starttls": True,
            "auth_required": True,
            "auth_require_tls": True,
            "data_size_limit": self.config.data_size_limit,
            "enable_SMTPUTF8": False,
        }
