"""The relay: accept S/MIME ciphertexts, consign them into mailboxes, hand them over."""

from caducee.relay.batching import GroupCommitter
from caducee.relay.errors import (
    DuplicateMessageId,
    InactiveRecipient,
    InvalidEnvelope,
    MessageTooLarge,
    NotSMIME,
    NotYourMailbox,
    RelayError,
    UnknownMessage,
    UnknownRecipient,
)
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
    "DuplicateMessageId",
    "Envelope",
    "GroupCommitter",
    "InProcessNotifier",
    "InactiveRecipient",
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
    "Subscription",
    "UnknownMessage",
    "UnknownRecipient",
    "check_encrypted_cms",
]
