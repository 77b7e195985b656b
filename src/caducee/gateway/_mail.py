"""What both SMTP edges share: reading the outer headers, message ids, reply mapping.

Replies follow RFC 5321 §4.2 (basic codes) with RFC 3463 enhanced status codes (RFC 2034).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import ssl
import time
from collections.abc import Callable
from email.message import Message
from email.parser import BytesHeaderParser
from email.utils import formatdate
from typing import Any, Generic, TypeVar

from aiosmtpd.smtp import SMTP
from sqlalchemy.exc import SQLAlchemyError

from caducee.gateway.errors import (
    BadMessage,
    NotEncrypted,
    RecipientDisabled,
    RecipientUnknown,
    SenderNotAllowed,
    SMTPRefusal,
    TemporaryFailure,
    TooLarge,
)
from caducee.relay import (
    DuplicateMessageId,
    InactiveRecipient,
    InvalidEnvelope,
    MessageTooLarge,
    NotSMIME,
    NotYourMailbox,
    RelayError,
    UnknownRecipient,
)
from caducee.relay.service import MESSAGE_ID_PATTERN
from caducee.store import StoreError

__all__ = [
    "INFRASTRUCTURE_ERRORS",
    "TTLCache",
    "domain_of",
    "message_id_of",
    "outer_date",
    "read_headers",
    "refusal_for",
    "serve_smtp",
]

log = logging.getLogger(__name__)

INFRASTRUCTURE_ERRORS = (StoreError, SQLAlchemyError, OSError)
K = TypeVar("K")
V = TypeVar("V")


class TTLCache(Generic[K, V]):
    """A small cache of positive answers for ``ttl`` seconds (bounded; cleared when full).

    Used for checks the relay repeats with authority at DATA (recipient open) or whose
    staleness is bounded by design (a revoked application password stops within ``ttl``).
    """

    def __init__(self, ttl: float, *, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[K, tuple[float, V]] = {}

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None or time.monotonic() - entry[0] > self.ttl:
            return None
        return entry[1]

    def put(self, key: K, value: V) -> None:
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key] = (time.monotonic(), value)


def read_headers(content: bytes) -> Message:
    """The header section of a message (RFC 5322 §2.1); the body is not parsed."""
    return BytesHeaderParser().parsebytes(content)


def domain_of(address: str) -> str:
    """The domain of ``local@domain``, lower-cased ("" if none)."""
    _, at, domain = address.rpartition("@")
    return domain.strip().lower().rstrip(".") if at else ""


def message_id_of(headers: Message, fallback: bytes, prefix: str) -> str:
    """The Message-ID without angle brackets (RFC 5322 §3.6.4) if the relay accepts it;
    otherwise one derived from ``fallback`` (the same bytes give the same id: retries
    stay idempotent)."""
    raw = " ".join(str(headers.get("Message-ID", "")).split())
    candidate = raw.strip().removeprefix("<").removesuffix(">")
    if MESSAGE_ID_PATTERN.fullmatch(candidate):
        return candidate
    seed = raw.encode("utf-8", "replace") if raw else fallback
    return f"{prefix}-{hashlib.sha256(seed).hexdigest()[:48]}"


def outer_date(headers: Message) -> str:
    """The Date header on one line (at most 64 characters), or now (RFC 5322 §3.6.1)."""
    value = " ".join(str(headers.get("Date", "")).split())[:64]
    return value or formatdate(usegmt=True)


_RELAY_REFUSALS: tuple[tuple[type[RelayError], Callable[[RelayError], SMTPRefusal]], ...] = (
    (
        UnknownRecipient,
        lambda e: RecipientUnknown("no such mailbox in the Caducée directory"),
    ),
    (InactiveRecipient, lambda e: RecipientDisabled("this mailbox is closed to new messages")),
    (MessageTooLarge, lambda e: TooLarge(f"message too large: {e.reason}")),
    (
        NotSMIME,
        lambda e: NotEncrypted(
            "the body is not an encrypted S/MIME (CMS enveloped-data) message; "
            "turn on S/MIME encryption in your mail client and send it again"
        ),
    ),
    (NotYourMailbox, lambda e: SenderNotAllowed("you may send only as your own address")),
    (
        DuplicateMessageId,
        lambda e: BadMessage(
            "this Message-ID was already used for another message: send it with a new one"
        ),
    ),
    (InvalidEnvelope, lambda e: BadMessage(f"unusable envelope: {e.reason}")),
)


def refusal_for(error: RelayError) -> SMTPRefusal:
    """The SMTP refusal for a relay error (the relay's own words, never content)."""
    for kind, make in _RELAY_REFUSALS:
        if isinstance(error, kind):
            return make(error)
    return TemporaryFailure("the message could not be stored now: try again later")


async def serve_smtp(
    handler: Any,
    host: str,
    port: int,
    *,
    tls_context: ssl.SSLContext | None,
    **smtp_options: Any,
) -> asyncio.Server:
    """An aiosmtpd ``SMTP`` server on the *running* loop (the database's loop).

    aiosmtpd's ``Controller`` runs its own loop in a thread; our async database engine
    belongs to the application's loop, so the server is created here instead.
    """
    loop = asyncio.get_running_loop()

    def factory() -> SMTP:
        return SMTP(handler, tls_context=tls_context, loop=loop, **smtp_options)

    server = await loop.create_server(factory, host=host, port=port)
    log.info("SMTP %s listening on %s:%d", type(handler).__name__, host, port)
    return server
