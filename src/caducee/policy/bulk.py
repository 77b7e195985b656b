"""Bulk-mail detection from what the relay sees: recipients, first contacts, pace.

The server sees no content, yet enough: how many recipients one envelope has, how many of
them the sender never wrote to before, and how fast it sends. Three limits, each chosen per
organisation, type and mailbox kind (:mod:`caducee.policy.limits`):

1. ``recipients_per_message``: one envelope for many recipients is the bulk signature;
2. ``messages_per_hour``: a token bucket of that capacity, refilled at that rate per hour;
3. ``new_recipients_per_hour``: a token bucket spent by first contacts only, so a lab
   sending thousands of results to the GPs it always writes to is never held, while a
   questionnaire to 11,000 strangers is held at its first message.

Pure functions and a small mutable bucket: no clock, no database (callers pass ``now``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "HoldReason",
    "Limits",
    "SenderBuckets",
    "TokenBucket",
    "Traffic",
    "Verdict",
    "assess",
]

HOUR = 3600.0


class HoldReason(StrEnum):
    TOO_MANY_RECIPIENTS = "too-many-recipients"
    TOO_MANY_MESSAGES = "too-many-messages"
    TOO_MANY_NEW_RECIPIENTS = "too-many-new-recipients"
    SANCTION = "sender-under-moderation"


@dataclass(frozen=True)
class Limits:
    """A sender's limits; every value at least 1."""

    recipients_per_message: int
    messages_per_hour: int
    new_recipients_per_hour: int

    def __post_init__(self) -> None:
        for name in ("recipients_per_message", "messages_per_hour", "new_recipients_per_hour"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer")


@dataclass
class TokenBucket:
    """``capacity`` tokens, refilled continuously at ``capacity`` per hour."""

    capacity: float
    tokens: float
    updated: float  # seconds, the caller's monotonic or epoch clock

    @classmethod
    def full(cls, capacity: int, now: float) -> TokenBucket:
        return cls(float(capacity), float(capacity), now)

    def level(self, now: float) -> float:
        """The tokens available at ``now`` (time never runs backwards here)."""
        elapsed = max(0.0, now - self.updated)
        return min(self.capacity, self.tokens + elapsed * self.capacity / HOUR)

    def can_take(self, amount: float, now: float) -> bool:
        return amount <= self.level(now) + 1e-9

    def take(self, amount: float, now: float) -> None:
        """Spend ``amount`` tokens (may go negative: a released message still counts)."""
        self.tokens = self.level(now) - amount
        self.updated = max(self.updated, now)

    def resize(self, capacity: int) -> None:
        """New limits apply at once, keeping the tokens already spent."""
        spent = self.capacity - self.tokens
        self.capacity = float(capacity)
        self.tokens = self.capacity - spent


@dataclass
class SenderBuckets:
    """A sender's two buckets."""

    messages: TokenBucket
    new_recipients: TokenBucket

    @classmethod
    def full(cls, limits: Limits, now: float) -> SenderBuckets:
        return cls(
            TokenBucket.full(limits.messages_per_hour, now),
            TokenBucket.full(limits.new_recipients_per_hour, now),
        )

    def follow(self, limits: Limits) -> None:
        if self.messages.capacity != limits.messages_per_hour:
            self.messages.resize(limits.messages_per_hour)
        if self.new_recipients.capacity != limits.new_recipients_per_hour:
            self.new_recipients.resize(limits.new_recipients_per_hour)


@dataclass(frozen=True)
class Traffic:
    """What one submission shows: its recipients and how many are first contacts."""

    recipients: int
    new_recipients: int

    @property
    def first_contact_share(self) -> float:
        return self.new_recipients / self.recipients if self.recipients else 0.0


@dataclass(frozen=True)
class Verdict:
    """``reason`` is None when the message may go; else why it is held, and the figures."""

    reason: HoldReason | None
    detail: str = ""

    @property
    def held(self) -> bool:
        return self.reason is not None


def assess(traffic: Traffic, limits: Limits, buckets: SenderBuckets, now: float) -> Verdict:
    """Decide on one submission; spend the buckets only when it may go."""
    if traffic.recipients > limits.recipients_per_message:
        return Verdict(
            HoldReason.TOO_MANY_RECIPIENTS,
            f"{traffic.recipients} recipients in one message, at most "
            f"{limits.recipients_per_message}",
        )
    if not buckets.messages.can_take(1, now):
        return Verdict(
            HoldReason.TOO_MANY_MESSAGES, f"more than {limits.messages_per_hour} messages an hour"
        )
    if traffic.new_recipients and not buckets.new_recipients.can_take(traffic.new_recipients, now):
        return Verdict(
            HoldReason.TOO_MANY_NEW_RECIPIENTS,
            f"more than {limits.new_recipients_per_hour} new recipients an hour "
            f"({traffic.new_recipients} in this message)",
        )
    buckets.messages.take(1, now)
    if traffic.new_recipients:
        buckets.new_recipients.take(traffic.new_recipients, now)
    return Verdict(None)
