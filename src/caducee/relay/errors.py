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
    ├── UnknownMessage       no such message in this mailbox
    ├── InvalidAcknowledgement  a signed acknowledgement that does not verify
    └── SubmissionHeld       held for moderation (not an error for the sender's data)
"""

from caducee.errors import CaduceeError

__all__ = [
    "DuplicateMessageId",
    "InactiveRecipient",
    "InvalidAcknowledgement",
    "InvalidEnvelope",
    "MessageTooLarge",
    "NotSMIME",
    "NotYourMailbox",
    "RelayError",
    "SubmissionHeld",
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


class InvalidAcknowledgement(RelayError):
    code = "invalid-acknowledgement"


class FetchAlone(RelayError):
    """A message a batched fetch left out to keep its answer small: fetch it on its own."""

    code = "fetch-alone"


class SubmissionHeld(RelayError):
    """The message is kept, not delivered, until a moderator releases or refuses it."""

    code = "submission-held"

    def __init__(self, message: str, *, hold_id: str, charter_url: str | None = None) -> None:
        super().__init__(message)
        self.hold_id = hold_id
        self.charter_url = charter_url
