"""Counting as messages are accepted: the relay's commit hook for the daily rollups.

:class:`RollupCounter` runs in the relay's group-commit transaction (its worker thread) with
the batch's accepted messages, and upserts a few rows: one per (day, organisation type) in
``stats_daily``, and one per newly active (mailbox, month) in ``stats_user_month`` (a day
already marked for a mailbox costs nothing). Days are French days (Europe/Paris). A
mailbox's organisation type is looked up once and kept (bounded); the days marked are
remembered only when the batch's transaction commits.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, event, func, select
from sqlalchemy.dialects import postgresql, sqlite

from caducee.directory.models import Mailbox, Organisation, Person
from caducee.relay.hooks import Accepted
from caducee.stats.models import DailyRollup, UserMonth

__all__ = ["NO_ORGANISATION", "PARIS", "Profile", "RollupCounter", "day_bit", "french_day"]

PARIS = ZoneInfo("Europe/Paris")
NO_ORGANISATION = "none"  # a mailbox with no organisation (a person practising alone)
MAX_PROFILES = 200_000


def french_day(moment: datetime) -> date:
    return moment.astimezone(PARIS).date()


def day_bit(day: date) -> int:
    """The bit of ``day`` in its month's bitmap."""
    return 1 << (day.day - 1)


@dataclass(frozen=True)
class Profile:
    org_type: str
    finess: str | None


def load_profiles(connection: Connection, mailbox_ids: Iterable[int]) -> dict[int, Profile]:
    """Organisation type and FINESS of each mailbox (its own, or its person's)."""
    finess = func.coalesce(Mailbox.organisation_finess, Person.organisation_finess)
    rows = connection.execute(
        select(Mailbox.id, finess, Organisation.type)
        .outerjoin(Person, Person.rpps == Mailbox.person_rpps)
        .outerjoin(Organisation, Organisation.finess == finess)
        .where(Mailbox.id.in_(sorted(set(mailbox_ids))))
    )
    return {int(i): Profile(t or NO_ORGANISATION, f) for i, f, t in rows}


class RollupCounter:
    """The commit hook; one per server process (it remembers what it has marked)."""

    def __init__(self) -> None:
        self._profiles: OrderedDict[int, Profile] = OrderedDict()
        self._marked: set[tuple[int, date]] = set()
        self._marked_day: date | None = None

    def forget(self) -> None:
        """Re-read organisations (after the directory changed) and re-mark days."""
        self._profiles.clear()
        self._marked.clear()

    def _profiles_for(self, connection: Connection, ids: set[int]) -> dict[int, Profile]:
        missing = [i for i in ids if i not in self._profiles]
        if missing:
            found = load_profiles(connection, missing)
            for i in missing:
                self._profiles[i] = found.get(i, Profile(NO_ORGANISATION, None))
            while len(self._profiles) > MAX_PROFILES:
                self._profiles.popitem(last=False)
        return {i: self._profiles[i] for i in ids}

    def __call__(self, connection: Connection, accepted: Sequence[Accepted]) -> None:
        ids = {a.sender_mailbox_id for a in accepted}
        ids.update(m for a in accepted for _, m in a.recipients)
        profiles = self._profiles_for(connection, ids)
        daily: dict[tuple[date, str], list[int]] = {}
        marks: set[tuple[int, date]] = set()
        for fact in accepted:
            day = french_day(fact.accepted_at)
            if self._marked_day != day:  # a new day: yesterday's marks are of no use
                self._marked_day = day
                self._marked.clear()
            sender = profiles[fact.sender_mailbox_id]
            row = daily.setdefault((day, sender.org_type), [0, 0, 0])
            row[0] += 1
            row[2] += fact.size
            for _, mailbox_id in fact.recipients:
                daily.setdefault((day, profiles[mailbox_id].org_type), [0, 0, 0])[1] += 1
            for mailbox_id in (fact.sender_mailbox_id, *(m for _, m in fact.recipients)):
                if (mailbox_id, day) not in self._marked:
                    marks.add((mailbox_id, day))
        active: dict[tuple[int, date], int] = {}
        for mailbox_id, day in marks:
            key = (mailbox_id, day.replace(day=1))
            active[key] = active.get(key, 0) | day_bit(day)
        _upsert_daily(connection, daily)
        _upsert_months(connection, active, profiles)
        done = {m for m in marks if m[1] == self._marked_day}
        if done:  # remembered once the batch commits: a rolled-back batch marks nothing
            event.listen(connection, "commit", lambda _c: self._marked.update(done), once=True)


@lru_cache(maxsize=4)
def _daily_statement(dialect_name: str) -> Any:
    """Built once per dialect: the commit thread runs it for every batch."""
    table = DailyRollup.__table__
    statement = (postgresql if dialect_name == "postgresql" else sqlite).insert(table)
    return statement.on_conflict_do_update(
        index_elements=[table.c.day, table.c.org_type],
        set_={
            "messages": table.c.messages + statement.excluded.messages,
            "deliveries": table.c.deliveries + statement.excluded.deliveries,
            "bytes": table.c.bytes + statement.excluded.bytes,
        },
    )


@lru_cache(maxsize=4)
def _months_statement(dialect_name: str) -> Any:
    table = UserMonth.__table__
    statement = (postgresql if dialect_name == "postgresql" else sqlite).insert(table)
    return statement.on_conflict_do_update(
        index_elements=[table.c.mailbox_id, table.c.month],
        set_={"days": table.c.days.op("|")(statement.excluded.days)},
    )


def _upsert_daily(connection: Connection, daily: dict[tuple[date, str], list[int]]) -> None:
    if not daily:
        return
    connection.execute(
        _daily_statement(connection.dialect.name),
        [
            {"day": d, "org_type": t, "messages": m, "deliveries": n, "bytes": b}
            for (d, t), (m, n, b) in sorted(daily.items())
        ],
    )


def _upsert_months(
    connection: Connection, active: dict[tuple[int, date], int], profiles: dict[int, Profile]
) -> None:
    if not active:
        return
    connection.execute(
        _months_statement(connection.dialect.name),
        [
            {
                "mailbox_id": m,
                "month": month,
                "org_type": profiles[m].org_type,
                "finess": profiles[m].finess,
                "days": bits,
            }
            for (m, month), bits in sorted(active.items())
        ],
    )
