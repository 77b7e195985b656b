"""Errors of the workstation agent.

    CaduceeError
     └── AgentError
          ├── ConfigError            the agent folder or its settings are missing or wrong
          ├── KeystoreError          the private key cannot be created or opened
          ├── ServerError            the server refused (carries its problem+json ``code``)
          │    └── AuthError         login refused (challenge, token, enrolment)
          ├── NetworkError           the server could not be reached after retries
          ├── RecipientError         no usable recipient for an outgoing file
          │    └── CertificateNotInLog   a recipient certificate the evidence log does not prove
          └── InboxError             a document could not be written into the inbox

Loops (outbox, sync) catch ``AgentError`` and crypto errors per item and never stop on them.
"""

from __future__ import annotations

from caducee.errors import CaduceeError

__all__ = [
    "AgentError",
    "AuthError",
    "CertificateNotInLog",
    "ConfigError",
    "InboxError",
    "KeystoreError",
    "NetworkError",
    "RecipientError",
    "ServerError",
]


class AgentError(CaduceeError):
    """Root of the agent's errors."""

    code = "agent-error"


class ConfigError(AgentError):
    """The agent folder is not initialised, or its configuration is unreadable."""

    code = "agent-config"


class KeystoreError(AgentError):
    """The key file or token cannot be used (never says anything about the passphrase)."""

    code = "agent-keystore"


class ServerError(AgentError):
    """A problem+json refusal of the server: ``status`` and the server's stable ``code``."""

    code = "server-error"

    def __init__(self, message: str, *, status: int, code: str | None = None) -> None:
        super().__init__(message, code=code or f"http-{status}")
        self.status = status

    @property
    def retryable(self) -> bool:
        """5xx and 429 may succeed later; other refusals will not."""
        return self.status >= 500 or self.status == 429


class AuthError(ServerError):
    """The challenge-response login or the enrolment was refused."""

    code = "auth-refused"


class NetworkError(AgentError):
    """The server did not answer (connection, timeout) even after the retries."""

    code = "network-error"


class RecipientError(AgentError):
    """An outgoing file names no recipient, or a recipient has no acceptable certificate."""

    code = "no-recipient"


class CertificateNotInLog(RecipientError):
    """Key transparency refused a recipient certificate: not in the log, revoked there, or
    its receipt does not verify against the log key pinned at ``init``."""

    code = "certificate-not-in-log"


class InboxError(AgentError):
    """A document could not be written into the inbox folder."""

    code = "inbox-error"
