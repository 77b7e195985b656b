"""How long the messages of a case are kept: per organisation, announced, enforced.

Which organisation governs a case: the organisation of the role the case was addressed to
when it was opened to a role, else its creator's (their mailbox's organisation, else their
person's). It is stored on the case at creation (``instant_case.organisation_finess``) so
that a later change of the creator's organisation does not move old cases; a case of no
organisation keeps everything.

An organisation's setting is ``days`` (1 to 3,650) or None (no limit, the default). The purge
deletes the message rows (ciphertext and routing metadata) older than that; a case's
``last_sequence`` is left alone, so sequence numbers are never reused: a listing after a
cursor simply starts at the first message still kept, and a cursor inside the purged range
still works. The ids of purged messages leave the replay check with them (a replay of such
an old message would need its signed header to name this case and device: the device's
signature still binds it, the server no longer remembers it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from caducee.directory.models import Mailbox, Organisation, Person
from caducee.instant.models import Case, CaseMessage, Retention, Unit
from caducee.instant.service_errors import InstantError
from caducee.store import Database
from caducee.store.models import utcnow

__all__ = [
    "MAX_DAYS",
    "MIN_DAYS",
    "InvalidRetention",
    "PurgeReport",
    "RetentionService",
    "RetentionSetting",
    "UnknownOrganisation",
    "case_organisation",
    "retention_days",
]

log = logging.getLogger(__name__)
MIN_DAYS = 1
MAX_DAYS = 3650  # ten years: beyond it, "no limit" says what is meant


class InvalidRetention(InstantError):
    code = "instant-retention-invalid"


class UnknownOrganisation(InstantError):
    code = "instant-retention-unknown-organisation"


@dataclass(frozen=True)
class RetentionSetting:
    organisation_finess: str
    days: int | None
    updated_by: str | None
    updated_at: datetime | None


@dataclass(frozen=True)
class PurgeReport:
    """What one purge deleted: message rows per case id (ids only, never content)."""

    deleted: dict[str, int]

    @property
    def messages(self) -> int:
        return sum(self.deleted.values())


async def case_organisation(session: AsyncSession, creator: str, role_id: int | None) -> str | None:
    """The organisation whose retention governs a new case (see the module's docstring)."""
    if role_id is not None:
        finess: str | None = await session.scalar(
            select(Unit.organisation_finess).where(Unit.id == role_id)
        )
        if finess is not None:
            return finess
    row = (
        await session.execute(
            select(Mailbox.organisation_finess, Person.organisation_finess)
            .outerjoin(Person, Person.rpps == Mailbox.person_rpps)
            .where(Mailbox.address == creator.lower())
        )
    ).first()
    if row is None:
        return None
    return row[0] or row[1]


async def retention_days(session: AsyncSession, finess: str | None) -> int | None:
    """The days an organisation keeps its cases' messages (None: no limit)."""
    if finess is None:
        return None
    days: int | None = await session.scalar(
        select(Retention.days).where(Retention.organisation_finess == finess)
    )
    return days


def check_days(days: int | None) -> int | None:
    if days is not None and not MIN_DAYS <= days <= MAX_DAYS:
        raise InvalidRetention(
            f"durée de conservation entre {MIN_DAYS} et {MAX_DAYS} jours, ou null pour "
            f"illimitée / retention between {MIN_DAYS} and {MAX_DAYS} days, or null for no limit"
        )
    return days


class RetentionService:
    def __init__(self, database: Database, *, now: Callable[[], datetime] = utcnow) -> None:
        self.database = database
        self.now = now

    async def get(self, finess: str) -> RetentionSetting:
        async with self.database.sessions() as session:
            await self._organisation(session, finess)
            row = await session.get(Retention, finess)
        if row is None:
            return RetentionSetting(finess, None, None, None)
        return RetentionSetting(finess, row.days, row.updated_by, row.updated_at)

    async def set(self, finess: str, days: int | None, actor: str) -> RetentionSetting:
        """Set (or lift, with None) an organisation's retention; logged with ids only."""
        check_days(days)
        now = self.now()
        async with self.database.transaction() as session:
            await self._organisation(session, finess)
            row = await session.get(Retention, finess, with_for_update=True)
            before = None if row is None else row.days
            if row is None:
                row = Retention(organisation_finess=finess)
                session.add(row)
            row.days, row.updated_by, row.updated_at = days, actor, now
        log.info(
            "instant retention of organisation %s: %s -> %s days (by %s)",
            finess,
            before,
            days,
            actor,
        )
        return RetentionSetting(finess, days, actor, now)

    async def purge(self) -> PurgeReport:
        """Delete the messages older than their organisation's retention, case by case."""
        now = self.now()
        deleted: dict[str, int] = {}
        async with self.database.sessions() as session:
            limits = (
                await session.execute(
                    select(Retention.organisation_finess, Retention.days).where(
                        Retention.days.is_not(None)
                    )
                )
            ).all()
        for finess, days in limits:
            assert days is not None
            cutoff = now - timedelta(days=days)
            async with self.database.transaction() as session:
                counts = (
                    await session.execute(
                        select(CaseMessage.case_id, func.count())
                        .join(Case, Case.id == CaseMessage.case_id)
                        .where(Case.organisation_finess == finess, CaseMessage.created_at < cutoff)
                        .group_by(CaseMessage.case_id)
                    )
                ).all()
                for case_id, count in counts:
                    await session.execute(
                        delete(CaseMessage).where(
                            CaseMessage.case_id == case_id, CaseMessage.created_at < cutoff
                        )
                    )
                    deleted[case_id] = int(count)
                    log.info(
                        "instant retention: case %s (organisation %s): %d messages purged",
                        case_id,
                        finess,
                        count,
                    )
        report = PurgeReport(deleted)
        log.info("instant retention purge: %d messages in %d cases", report.messages, len(deleted))
        return report

    @staticmethod
    async def _organisation(session: AsyncSession, finess: str) -> None:
        if await session.get(Organisation, finess) is None:
            raise UnknownOrganisation(
                "organisation inconnue : vérifiez le FINESS / "
                "unknown organisation: check the FINESS"
            )
