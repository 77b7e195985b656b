"""The figures of closed days, computed from the activity bitmaps in one vectorised pass.

For each day ``d`` and organisation type:

- **active users**: mailboxes that sent or received a message in the 30 days ending on
  ``d`` (``ACTIVE_WINDOW_DAYS``);
- **daily users**: active users active on at least ``DAILY_MIN_DAYS`` (16) of those 30
  days, i.e. on about every working day (there are 21 or 22 in 30 days; 16 leaves room
  for holidays and part-time work);
- **active establishments**: establishments with at least one active user.

:func:`close_days` computes the days not yet closed up to yesterday and stores them in
``stats_day_figures``; the dashboard reads only that small table and the daily rollups.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from sqlalchemy import Connection, delete, func, insert, select

from caducee.stats.models import DailyRollup, DayFigures, UserMonth

__all__ = [
    "ACTIVE_WINDOW_DAYS",
    "DAILY_MIN_DAYS",
    "ActivityRow",
    "close_days",
    "compute_figures",
]

ACTIVE_WINDOW_DAYS = 30
DAILY_MIN_DAYS = 16


@dataclass(frozen=True)
class ActivityRow:
    """A ``stats_user_month`` row."""

    mailbox_id: int
    month: date
    org_type: str
    finess: str | None
    days: int


def _bits_matrix(
    rows: Sequence[ActivityRow], start: date, span: int
) -> tuple[np.ndarray, list[int], list[str], list[str | None]]:
    """users × days booleans from ``start`` for ``span`` days, and each user's type, FINESS."""
    index: dict[int, int] = {}
    types: list[str] = []
    finesses: list[str | None] = []
    for row in rows:
        if row.mailbox_id not in index:
            index[row.mailbox_id] = len(index)
            types.append(row.org_type)
            finesses.append(row.finess)
    matrix = np.zeros((len(index), span), dtype=bool)
    if not rows:
        return matrix, list(index), types, finesses
    users = np.fromiter((index[r.mailbox_id] for r in rows), dtype=np.int64, count=len(rows))
    offsets = np.fromiter(((r.month - start).days for r in rows), dtype=np.int64, count=len(rows))
    days = np.fromiter((r.days for r in rows), dtype=np.int64, count=len(rows))
    for bit in range(31):  # one vectorised pass per day of the month
        columns = offsets + bit
        hit = ((days >> bit) & 1).astype(bool) & (columns >= 0) & (columns < span)
        matrix[users[hit], columns[hit]] = True
    return matrix, list(index), types, finesses


def compute_figures(
    rows: Sequence[ActivityRow], first: date, last: date
) -> list[dict[str, object]]:
    """Figures of every day in [first, last] per type (rows must cover 29 days before)."""
    if last < first or not rows:
        return []
    start = first - timedelta(days=ACTIVE_WINDOW_DAYS - 1)
    span = (last - start).days + 1
    matrix, _, types, finesses = _bits_matrix(rows, start, span)
    counts = np.zeros((matrix.shape[0], span + 1), dtype=np.int32)
    np.cumsum(matrix, axis=1, out=counts[:, 1:])
    window = counts[:, ACTIVE_WINDOW_DAYS:] - counts[:, :-ACTIVE_WINDOW_DAYS]  # days first..last
    active = window > 0
    daily = window >= DAILY_MIN_DAYS
    type_names = sorted(set(types))
    type_of = np.array([type_names.index(t) for t in types], dtype=np.int64)
    # establishments: users sorted by FINESS, OR-reduced per establishment
    with_org = [i for i, f in enumerate(finesses) if f is not None]
    by_finess = sorted(with_org, key=lambda i: finesses[i] or "")
    results: list[dict[str, object]] = []
    est_active = None
    est_types = np.zeros(0, dtype=np.int64)
    if by_finess:
        ordered = active[by_finess]
        keys = [finesses[i] for i in by_finess]
        starts = [0] + [k for k in range(1, len(keys)) if keys[k] != keys[k - 1]]
        est_active = np.logical_or.reduceat(ordered, starts, axis=0)
        est_types = type_of[[by_finess[s] for s in starts]]
    for t, name in enumerate(type_names):
        mine = type_of == t
        active_t = active[mine].sum(axis=0)
        daily_t = daily[mine].sum(axis=0)
        if est_active is not None and (est_types == t).any():
            est_t = est_active[est_types == t].sum(axis=0)
        else:
            est_t = np.zeros(active.shape[1], dtype=np.int64)
        for offset in range(active.shape[1]):
            results.append(
                {
                    "day": first + timedelta(days=offset),
                    "org_type": name,
                    "active_users": int(active_t[offset]),
                    "daily_users": int(daily_t[offset]),
                    "active_establishments": int(est_t[offset]),
                }
            )
    return results


def load_activity(connection: Connection, first: date, last: date) -> list[ActivityRow]:
    """The bitmap rows that the figures of [first, last] need."""
    since = (first - timedelta(days=ACTIVE_WINDOW_DAYS - 1)).replace(day=1)
    rows = connection.execute(
        select(
            UserMonth.mailbox_id,
            UserMonth.month,
            UserMonth.org_type,
            UserMonth.finess,
            UserMonth.days,
        ).where(UserMonth.month >= since, UserMonth.month <= last)
    )
    return [ActivityRow(int(m), mo, t, f, int(d)) for m, mo, t, f, d in rows]


def close_days(
    connection: Connection, yesterday: date, *, recompute_from: date | None = None
) -> int:
    """Compute and store the figures of every day not closed yet, up to ``yesterday``.

    Returns the number of days closed. ``recompute_from`` recomputes from that day on.
    """
    first = recompute_from
    if first is None:
        closed = connection.scalar(select(func.max(DayFigures.day)))
        if closed is not None:
            first = closed + timedelta(days=1)
        else:
            earliest = connection.scalar(select(func.min(DailyRollup.day)))
            if earliest is None:
                return 0
            first = earliest
    if first > yesterday:
        return 0
    figures = compute_figures(load_activity(connection, first, yesterday), first, yesterday)
    connection.execute(
        delete(DayFigures).where(DayFigures.day >= first, DayFigures.day <= yesterday)
    )
    if figures:
        connection.execute(insert(DayFigures), figures)
    return (yesterday - first).days + 1
