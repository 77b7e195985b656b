"""The policy facts both faces share are the server's own (no copy drifts).

The agent reads them from :mod:`caducee.policy.protocol`; the server's services must
accept and rank exactly those values, and a personal mailbox's defaults must be the ones
the agent assumes before the server has answered.
"""

from __future__ import annotations

from datetime import UTC, datetime

from caducee.agent.standing import FALLBACK_LIMITS, Sanction, strongest_level
from caducee.agent.web.reporting import REPORT_REASONS
from caducee.directory.models import MailboxKind
from caducee.policy import protocol
from caducee.policy.limits import DEFAULTS
from caducee.policy.reports import ReportReason
from caducee.policy.sanctions import SanctionLevel, SanctionView, strongest
from caducee.server.routes_moderation import ReportRequest

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_report_reasons_and_comment_length_are_the_servers() -> None:
    assert [r.value for r in ReportReason] == [r.value for r in protocol.ReportReason]
    assert tuple(r.value for r in ReportReason) == REPORT_REASONS
    comment = ReportRequest.model_fields["comment"].metadata
    assert any(getattr(m, "max_length", None) == protocol.MAX_REPORT_COMMENT for m in comment)


def test_sanction_levels_rank_as_the_server_ranks_them() -> None:
    assert [s.value for s in SanctionLevel] == [s.value for s in protocol.SanctionLevel]
    levels = [s.value for s in SanctionLevel]
    for first in levels:
        for second in levels:
            mine = [Sanction(first, "r", "t"), Sanction(second, "r", "t")]
            views = [SanctionView(i, 1, level, "r", NOW, "operator", None) for i, level in
                     enumerate((first, second))]  # fmt: skip
            assert strongest_level(mine) == strongest(views)


def test_the_agents_fallback_limits_are_a_personal_mailboxs_defaults() -> None:
    assert FALLBACK_LIMITS == protocol.PERSONAL_LIMITS == DEFAULTS[MailboxKind.PERSONAL.value]
