"""Graduated sanctions on a sender: a warning, then every message held, then a block.

A sanction is visible to the sender (``GET /api/v1/policy/sanctions``); the strongest one
not lifted applies. ``hold`` sends each message to the moderation queue; ``block`` refuses
submissions outright.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from caducee.policy.console_errors import ConsoleError
from caducee.policy.models import Sanction
from caducee.policy.protocol import SANCTION_RANK, SanctionLevel
from caducee.store import Database
from caducee.store.models import utcnow

__all__ = ["SanctionLevel", "SanctionService", "SanctionView", "SenderBlocked", "strongest"]

log = logging.getLogger(__name__)


class SenderBlocked(ConsoleError):
    code = "sender-blocked"


@dataclass(frozen=True)
class SanctionView:
    id: int
    mailbox_id: int
    level: str
    reason: str
    created_at: datetime
    created_by: str
    lifted_at: datetime | None


def strongest(sanctions: list[SanctionView]) -> SanctionLevel | None:
    """The level that applies: the strongest of those not lifted."""
    levels = [SanctionLevel(s.level) for s in sanctions if s.lifted_at is None]
    return max(levels, key=SANCTION_RANK.__getitem__) if levels else None


def _view(row: Sanction) -> SanctionView:
    return SanctionView(
        row.id, row.mailbox_id, row.level, row.reason, row.created_at, row.created_by, row.lifted_at
    )


class SanctionService:
    def __init__(self, database: Database, *, now: Callable[[], datetime] = utcnow) -> None:
        self.database = database
        self.now = now

    async def impose(
        self, mailbox_id: int, level: SanctionLevel, reason: str, by: str
    ) -> SanctionView:
        row = Sanction(
            mailbox_id=mailbox_id,
            level=level.value,
            reason=reason[:500],
            created_at=self.now(),
            created_by=by,
        )
        async with self.database.transaction() as session:
            session.add(row)
        log.info("sanction %s on mailbox %d by %s", level.value, mailbox_id, by)
        return _view(row)

    async def lift(self, sanction_id: int) -> None:
        async with self.database.transaction() as session:
            row = await session.get(Sanction, sanction_id)
            if row is not None and row.lifted_at is None:
                row.lifted_at = self.now()

    async def of(self, mailbox_id: int) -> list[SanctionView]:
        async with self.database.sessions() as session:
            rows = await session.scalars(
                select(Sanction)
                .where(Sanction.mailbox_id == mailbox_id)
                .order_by(Sanction.created_at.desc(), Sanction.id.desc())
            )
            return [_view(r) for r in rows]
