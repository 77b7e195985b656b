"""Errors of the relay (submission, mailboxes, delivery).

::

    RelayError
    ├── UnknownRecipient     a To address has no mailbox
    ├── InactiveRecipient    a To address's mailbox is closed
    ├── MessageTooLarge      over the size limit
    ├── NotSMIME             the body is not a CMS envelopedData/authEnvelopedData
    ├── InvalidEnvelope      a bad message id, no recipient, a bad header value
    ├── DuplicateMessageId   the id was already used for another ciphertext or sender
    ├── NotYourMailbox       From is not the authenticated mailbox
    └── UnknownMessage       no such message in this mailbox
"""

from caducee.errors import CaduceeError

__all__ = [
    "DuplicateMessageId",
    "InactiveRecipient",
    "InvalidEnvelope",
    "MessageTooLarge",
    "NotSMIME",
    "NotYourMailbox",
    "RelayError",
    "UnknownMessage",
    "UnknownRecipient",
]


class RelayError(CaduceeError):
    code = "relay-error"


class UnknownRecipient(RelayError):
    code = "unknown-recipient"

    def __init__(self, message: str, *, addresses: list[str]) -> None:
        super().__init__(message)
        self.addresses = addresses


class InactiveRecipient(RelayError):
    code = "inactive-recipient"

    def __init__(self, message: str, *, addresses: list[str]) -> None:
        super().__init__(message)
        self.addresses = addresses


class MessageTooLarge(RelayError):
    code = "message-too-large"


class NotSMIME(RelayError):
    code = "not-smime"


class InvalidEnvelope(RelayError):
    code = "invalid-envelope"


class DuplicateMessageId(RelayError):
    code = "duplicate-message-id"


class NotYourMailbox(RelayError):
    code = "not-your-mailbox"


class UnknownMessage(RelayError):
    code = "unknown-message"
