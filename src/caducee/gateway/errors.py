"""Errors of the gateway (SMTP edge, MSSanté trust list, application passwords).

Each error that can end an SMTP transaction carries its reply (RFC 5321 §4.2 basic code,
RFC 3463 enhanced status code, a text saying why and what to do), so the handlers map a
refusal to a reply in one place and never leak a third-party exception to the client.

::

    GatewayError
    ├── TrustListError            the white list could not be read or parsed
    │   └── TrustListUnavailable  its source (file, URL) did not answer
    ├── PasswordError
    │   ├── BadCredentials        unknown address, revoked or wrong password (535 5.7.8)
    │   ├── UnknownPassword       no such application password for this mailbox
    │   └── TooManyPasswords      the per-mailbox limit is reached
    ├── HeaderError               an X-MSS-* header value is not allowed
    └── SMTPRefusal               a refusal with an SMTP reply
        ├── SenderNotAllowed      MAIL FROM not the authenticated person's (553 5.7.1)
        ├── DomainNotTrusted      sender domain not on the trust list (550 5.7.1)
        ├── RecipientUnknown      no such mailbox (550 5.1.1)
        ├── RecipientDisabled     closed mailbox (550 5.2.1)
        ├── RecipientNoCertificate  nothing to encrypt to yet (450 4.7.1)
        ├── RelayDenied           not one of our domains (550 5.7.1)
        ├── NotEncrypted          clear text to an internal address (554 5.7.1)
        ├── TooLarge              over the size limit (552 5.3.4)
        ├── MailLoop              too many Received headers (554 5.4.6)
        ├── BadMessage            unusable headers or body (554 5.6.0)
        └── TemporaryFailure      storage did not answer (451 4.3.0)
"""

from __future__ import annotations

import unicodedata

from caducee.errors import CaduceeError

__all__ = [
    "BadCredentials",
    "BadMessage",
    "DomainNotTrusted",
    "GatewayError",
    "HeaderError",
    "MailLoop",
    "NotEncrypted",
    "PasswordError",
    "RecipientDisabled",
    "RecipientNoCertificate",
    "RecipientUnknown",
    "RelayDenied",
    "SMTPRefusal",
    "SenderNotAllowed",
    "TemporaryFailure",
    "TooLarge",
    "TooManyPasswords",
    "TrustListError",
    "TrustListUnavailable",
    "UnknownPassword",
]


MAX_REPLY_LENGTH = 510  # 512 octets with CRLF


class GatewayError(CaduceeError):
    code = "gateway-error"


class TrustListError(GatewayError):
    code = "trust-list-invalid"


class TrustListUnavailable(TrustListError):
    code = "trust-list-unavailable"


class PasswordError(GatewayError):
    code = "app-password-error"


class BadCredentials(PasswordError):
    code = "bad-credentials"


class UnknownPassword(PasswordError):
    code = "unknown-app-password"


class TooManyPasswords(PasswordError):
    code = "too-many-app-passwords"


class HeaderError(GatewayError):
    code = "mss-header-invalid"


class SMTPRefusal(GatewayError):
    """A refusal that ends an SMTP command: ``reply`` is the full reply line."""

    code = "smtp-refusal"
    smtp_code = 554
    status = "5.0.0"

    @property
    def reply(self) -> str:
        """One ASCII line (RFC 5321 §4.2: replies are US-ASCII; §4.5.3.1.5: 512 octets)."""
        text = " ".join(self.reason.split())  # one line, no CR/LF from anywhere
        decomposed = unicodedata.normalize("NFKD", text)
        ascii_text = decomposed.encode("ascii", "ignore").decode("ascii")
        return f"{self.smtp_code} {self.status} {ascii_text}"[:MAX_REPLY_LENGTH]


class SenderNotAllowed(SMTPRefusal):
    code, smtp_code, status = "sender-not-allowed", 553, "5.7.1"


class DomainNotTrusted(SMTPRefusal):
    code, smtp_code, status = "domain-not-trusted", 550, "5.7.1"


class RecipientUnknown(SMTPRefusal):
    code, smtp_code, status = "recipient-unknown", 550, "5.1.1"


class RecipientDisabled(SMTPRefusal):
    code, smtp_code, status = "recipient-disabled", 550, "5.2.1"


class RecipientNoCertificate(SMTPRefusal):
    code, smtp_code, status = "recipient-no-certificate", 450, "4.7.1"


class RelayDenied(SMTPRefusal):
    code, smtp_code, status = "relay-denied", 550, "5.7.1"


class NotEncrypted(SMTPRefusal):
    code, smtp_code, status = "not-encrypted", 554, "5.7.1"


class TooLarge(SMTPRefusal):
    code, smtp_code, status = "too-large", 552, "5.3.4"


class MailLoop(SMTPRefusal):
    code, smtp_code, status = "mail-loop", 554, "5.4.6"


class BadMessage(SMTPRefusal):
    code, smtp_code, status = "bad-message", 554, "5.6.0"


class TemporaryFailure(SMTPRefusal):
    code, smtp_code, status = "temporary-failure", 451, "4.3.0"
