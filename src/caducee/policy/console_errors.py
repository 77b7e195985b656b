"""Errors of the console's policy: registration, charter, moderation, reports, sanctions.

::

    PolicyError
    └── ConsoleError
        ├── NotRegistered         the organisation is not a registered establishment
        ├── CharterNotSigned      its manager has not accepted the current charter
        ├── NoCharter             no charter has been published yet
        ├── StaleCharter          the signed digest is not the current charter's
        ├── NotManager            the caller does not manage this establishment
        ├── NotModerator          the caller may not decide on held messages
        ├── UnknownHold           no such held message (or already decided)
        ├── NotARecipient         a report on a message the caller never received
        └── InvalidLimits         sending limits that make no sense

Messages name ids and rules, never content.
"""

from __future__ import annotations

from caducee.policy.errors import PolicyError

__all__ = [
    "CharterNotSigned",
    "ConsoleError",
    "InvalidLimits",
    "NoCharter",
    "NotARecipient",
    "NotManager",
    "NotModerator",
    "NotRegistered",
    "StaleCharter",
    "UnknownHold",
]


class ConsoleError(PolicyError):
    code = "console-error"


class NotRegistered(ConsoleError):
    code = "establishment-not-registered"


class CharterNotSigned(ConsoleError):
    code = "charter-not-signed"


class NoCharter(ConsoleError):
    code = "no-charter"


class StaleCharter(ConsoleError):
    code = "stale-charter"


class NotManager(ConsoleError):
    code = "not-manager"


class NotModerator(ConsoleError):
    code = "not-moderator"


class UnknownHold(ConsoleError):
    code = "unknown-hold"


class NotARecipient(ConsoleError):
    code = "not-a-recipient"


class InvalidLimits(ConsoleError):
    code = "invalid-limits"
