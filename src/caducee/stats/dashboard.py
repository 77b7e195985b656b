"""What the dashboard shows, read from the rollups only (never from messages nor the directory).

:func:`load_dashboard` answers with the headline figures of the last closed day
(active users and their growth year on year, the share of daily users, messages over the
last 12 months and their growth, the share of labs on the network), the series the charts
draw, and the establishments by type and region with the university hospitals.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import String, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from caducee.directory.models import OrganisationType
from caducee.stats.models import DailyRollup, DayFigures, RegionCount, UniversityHospital
from caducee.store import Database

__all__ = ["Dashboard", "Headline", "growth", "load_dashboard"]

YEAR = timedelta(days=365)


def growth(now: float, before: float) -> float | None:
    """Relative growth in percent, None when there is nothing to compare with."""
    if before <= 0:
        return None
    return round(100.0 * (now - before) / before, 1)


def share(part: float, whole: float) -> float | None:
    return None if whole <= 0 else round(100.0 * part / whole, 1)


@dataclass(frozen=True)
class Headline:
    day: date | None
    active_users: int
    active_users_growth: float | None
    daily_users_share: float | None
    messages_12_months: int
    messages_growth: float | None
    messages_total: int
    labs_on_network: int
    labs_registered: int
    labs_share: float | None
    active_by_type: dict[str, int]


@dataclass(frozen=True)
class Dashboard:
    headline: Headline
    monthly_messages: dict[str, dict[str, int]]  # month "YYYY-MM" → type → messages
    active_users_series: list[tuple[str, int]]  # day → active users (all types)
    establishments: dict[str, dict[str, int]]  # region → type → count
    university_hospitals: dict[str, list[str]]  # region → names
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["headline"]["day"] = (
            None if self.headline.day is None else self.headline.day.isoformat()
        )
        data["active_users_series"] = [list(p) for p in self.active_users_series]
        return data


async def _active_on(session: AsyncSession, day: date) -> dict[str, tuple[int, int, int]]:
    rows = await session.execute(
        select(
            DayFigures.org_type,
            DayFigures.active_users,
            DayFigures.daily_users,
            DayFigures.active_establishments,
        ).where(DayFigures.day == day)
    )
    return {t: (a, d, e) for t, a, d, e in rows.all()}


async def _messages_between(session: AsyncSession, after: date, until: date) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(DailyRollup.messages), 0)).where(
            DailyRollup.day > after, DailyRollup.day <= until
        )
    )
    return int(total or 0)


async def load_dashboard(database: Database, *, series_days: int = 400) -> Dashboard:
    """Everything the dashboard draws, as of the last closed day."""
    async with database.sessions() as session:
        last = await session.scalar(select(func.max(DayFigures.day)))
        now = await _active_on(session, last) if last else {}
        before = await _active_on(session, last - YEAR) if last else {}
        active = sum(a for a, _, _ in now.values())
        daily = sum(d for _, d, _ in now.values())
        reference = last or date.today()
        messages = await _messages_between(session, reference - YEAR, reference)
        previous = await _messages_between(session, reference - 2 * YEAR, reference - YEAR)
        earliest = await session.scalar(select(func.min(DailyRollup.day)))
        if earliest is None or earliest > reference - 2 * YEAR + timedelta(days=1):
            previous = 0  # the year before is not fully counted: no growth to show
        total = int(
            await session.scalar(select(func.coalesce(func.sum(DailyRollup.messages), 0))) or 0
        )
        lab = OrganisationType.LAB.value
        labs = int(
            await session.scalar(
                select(func.coalesce(func.sum(RegionCount.establishments), 0)).where(
                    RegionCount.org_type == lab
                )
            )
            or 0
        )
        labs_active = now.get(lab, (0, 0, 0))[2]
        months: dict[str, dict[str, int]] = {}
        month = func.substr(cast(DailyRollup.day, String), 1, 7)
        for m, t, n in (
            await session.execute(
                select(month, DailyRollup.org_type, func.sum(DailyRollup.messages))
                .where(DailyRollup.day > reference - YEAR)
                .group_by(month, DailyRollup.org_type)
                .order_by(month)
            )
        ).all():
            months.setdefault(str(m), {})[t] = int(n)
        series = [
            (d.isoformat(), int(a))
            for d, a in (
                await session.execute(
                    select(DayFigures.day, func.sum(DayFigures.active_users))
                    .where(DayFigures.day > reference - timedelta(days=series_days))
                    .group_by(DayFigures.day)
                    .order_by(DayFigures.day)
                )
            ).all()
        ]
        establishments: dict[str, dict[str, int]] = {}
        for region, t, n in (
            await session.execute(
                select(
                    RegionCount.region, RegionCount.org_type, RegionCount.establishments
                ).order_by(RegionCount.region)
            )
        ).all():
            establishments.setdefault(region, {})[t] = int(n)
        chu: dict[str, list[str]] = {}
        for region, name in (
            await session.execute(
                select(UniversityHospital.region, UniversityHospital.name).order_by(
                    UniversityHospital.region, UniversityHospital.name
                )
            )
        ).all():
            chu.setdefault(region, []).append(name)
    headline = Headline(
        day=last,
        active_users=active,
        active_users_growth=growth(active, sum(a for a, _, _ in before.values())),
        daily_users_share=share(daily, active),
        messages_12_months=messages,
        messages_growth=growth(messages, previous),
        messages_total=total,
        labs_on_network=labs_active,
        labs_registered=labs,
        labs_share=share(labs_active, labs),
        active_by_type={t: a for t, (a, _, _) in sorted(now.items())},
    )
    return Dashboard(headline, months, series, establishments, chu)
