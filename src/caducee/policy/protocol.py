"""The policy facts the agent and the server must agree on, in one pure module.

Both faces import this (the agent never imports the server): the reasons a recipient may
give when reporting a message and the length of the comment, the sanction levels and
their order (the strongest in force applies), and a personal mailbox's sending limits
until the server has answered. No database, no web: values only.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from caducee.policy.bulk import Limits

__all__ = [
    "MAX_REPORT_COMMENT",
    "PERSONAL_LIMITS",
    "SANCTION_RANK",
    "ReportReason",
    "SanctionLevel",
]


class ReportReason(StrEnum):
    BULK = "bulk"  # an announcement, an invitation, a questionnaire sent to many
    ADVERTISING = "advertising"
    NOT_FOR_ME = "not-for-me"
    OTHER = "other"


MAX_REPORT_COMMENT = 500  # characters


class SanctionLevel(StrEnum):
    WARNING = "warning"
    HOLD = "hold"
    BLOCK = "block"


SANCTION_RANK: Mapping[str, int] = {
    SanctionLevel.WARNING: 1,
    SanctionLevel.HOLD: 2,
    SanctionLevel.BLOCK: 3,
}

# A personal mailbox's platform defaults (recipients per message, messages per hour, new
# recipients per hour): ``caducee.policy.limits.DEFAULTS["personal"]``.
PERSONAL_LIMITS = Limits(20, 500, 30)
