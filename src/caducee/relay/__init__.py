"""The relay: accept S/MIME ciphertexts, consign them into mailboxes, hand them over."""

from caducee.relay.batching import GroupCommitter
from caducee.relay.errors import (
    DuplicateMessageId,
    FetchAlone,
    InactiveRecipient,
    InvalidAcknowledgement,
    InvalidEnvelope,
    MessageTooLarge,
    NotSMIME,
    NotYourMailbox,
    RelayError,
    SubmissionHeld,
    UnknownMessage,
    UnknownRecipient,
)
from caducee.relay.hooks import Accepted, CommitHook, SubmissionGate
from caducee.relay.notifications import InProcessNotifier, MailboxNotifier, Subscription
from caducee.relay.service import (
    DEFAULT_MAX_SIZE,
    Envelope,
    MailboxItem,
    MailboxPage,
    Receipt,
    RelayService,
)
from caducee.relay.smime import check_encrypted_cms

__all__ = [
    "DEFAULT_MAX_SIZE",
    "Accepted",
    "CommitHook",
    "DuplicateMessageId",
    "Envelope",
    "FetchAlone",
    "GroupCommitter",
    "InProcessNotifier",
    "InactiveRecipient",
    "InvalidAcknowledgement",
    "InvalidEnvelope",
    "MailboxItem",
    "MailboxNotifier",
    "MailboxPage",
    "MessageTooLarge",
    "NotSMIME",
    "NotYourMailbox",
    "Receipt",
    "RelayError",
    "RelayService",
    "SubmissionGate",
    "SubmissionHeld",
    "Subscription",
    "UnknownMessage",
    "UnknownRecipient",
    "check_encrypted_cms",
]
