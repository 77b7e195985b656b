"""CSV and JSON exports of the rollups: one row per day and organisation type."""

from __future__ import annotations

import csv
import io
from datetime import date

from sqlalchemy import and_, select

from caducee.stats.models import DailyRollup, DayFigures
from caducee.store import Database

__all__ = ["CSV_COLUMNS", "daily_rows", "to_csv"]

CSV_COLUMNS = (
    "day",
    "org_type",
    "messages",
    "deliveries",
    "bytes",
    "active_users",
    "daily_users",
    "active_establishments",
)


async def daily_rows(
    database: Database, first: date | None = None, last: date | None = None
) -> list[dict[str, object]]:
    """Rollups joined with the closed days' figures, oldest first."""
    query = (
        select(DailyRollup, DayFigures)
        .outerjoin(
            DayFigures,
            and_(DayFigures.day == DailyRollup.day, DayFigures.org_type == DailyRollup.org_type),
        )
        .order_by(DailyRollup.day, DailyRollup.org_type)
    )
    if first is not None:
        query = query.where(DailyRollup.day >= first)
    if last is not None:
        query = query.where(DailyRollup.day <= last)
    async with database.sessions() as session:
        rows = (await session.execute(query)).all()
    return [
        {
            "day": r.day.isoformat(),
            "org_type": r.org_type,
            "messages": r.messages,
            "deliveries": r.deliveries,
            "bytes": r.bytes,
            "active_users": f.active_users if f else None,
            "daily_users": f.daily_users if f else None,
            "active_establishments": f.active_establishments if f else None,
        }
        for r, f in rows
    ]


def to_csv(rows: list[dict[str, object]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
