"""Recipients' reports of unwanted messages, and a sender's reputation from them.

Only a recipient of a message may report it (a report on a message one never received is
refused, and nothing is written); one report per message and reporter. Reports feed the
moderation queue and the sender's reputation: the distinct reporters over the last 30 days.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from caducee.policy.console_errors import NotARecipient
from caducee.policy.models import Report
from caducee.policy.protocol import ReportReason
from caducee.relay.models import Delivery, Message
from caducee.store import Database
from caducee.store.models import utcnow

__all__ = ["REPUTATION_WINDOW", "ReportReason", "ReportService", "ReportView"]

log = logging.getLogger(__name__)
REPUTATION_WINDOW = timedelta(days=30)


@dataclass(frozen=True)
class ReportView:
    id: int
    message_id: str
    reporter_mailbox_id: int
    sender_mailbox_id: int
    reason: str
    comment: str
    created_at: datetime
    status: str


def _view(row: Report) -> ReportView:
    return ReportView(
        row.id,
        row.message_id,
        row.reporter_mailbox_id,
        row.sender_mailbox_id,
        row.reason,
        row.comment,
        row.created_at,
        row.status,
    )


class ReportService:
    def __init__(self, database: Database, *, now: Callable[[], datetime] = utcnow) -> None:
        self.database = database
        self.now = now

    async def report(
        self, *, reporter_mailbox_id: int, message_id: str, reason: ReportReason, comment: str = ""
    ) -> ReportView:
        """Record a recipient's report (idempotent per message and reporter)."""
        async with self.database.sessions() as session:
            sender = await session.scalar(
                select(Message.sender_mailbox_id)
                .join(Delivery, Delivery.message_pk == Message.id)
                .where(
                    Message.message_id == message_id[:200],
                    Delivery.mailbox_id == reporter_mailbox_id,
                )
            )
        if sender is None:
            raise NotARecipient("you can report only a message delivered to your mailbox")
        row = Report(
            message_id=message_id,
            reporter_mailbox_id=reporter_mailbox_id,
            sender_mailbox_id=sender,
            reason=reason.value,
            comment=comment[:500],
            created_at=self.now(),
            status="open",
        )
        try:
            async with self.database.transaction() as session:
                session.add(row)
        except IntegrityError:
            async with self.database.sessions() as session:
                existing = await session.scalar(
                    select(Report).where(
                        Report.message_id == message_id,
                        Report.reporter_mailbox_id == reporter_mailbox_id,
                    )
                )
            assert existing is not None
            return _view(existing)
        log.info("report %d on %s by mailbox %d", row.id, message_id, reporter_mailbox_id)
        return _view(row)

    async def open_reports(self, limit: int = 200) -> list[ReportView]:
        async with self.database.sessions() as session:
            rows = await session.scalars(
                select(Report)
                .where(Report.status == "open")
                .order_by(Report.created_at, Report.id)
                .limit(limit)
            )
            return [_view(r) for r in rows]

    async def close(self, report_id: int) -> None:
        async with self.database.transaction() as session:
            row = await session.get(Report, report_id)
            if row is not None:
                row.status = "closed"

    async def reputation(self, sender_mailbox_ids: list[int]) -> dict[int, int]:
        """Distinct reporters of each sender over :data:`REPUTATION_WINDOW`."""
        since = self.now() - REPUTATION_WINDOW
        async with self.database.sessions() as session:
            rows = await session.execute(
                select(
                    Report.sender_mailbox_id, func.count(func.distinct(Report.reporter_mailbox_id))
                )
                .where(Report.sender_mailbox_id.in_(sender_mailbox_ids), Report.created_at >= since)
                .group_by(Report.sender_mailbox_id)
            )
            found = {int(s): int(n) for s, n in rows.all()}
        return {s: found.get(s, 0) for s in sender_mailbox_ids}
