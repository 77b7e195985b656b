"""Who is on duty for a role at an instant, and whom to escalate to next. Pure: no I/O.

A shift covers ``[starts_at, ends_at)`` in UTC, so a handover instant belongs to the next
shift only and two shifts back to back leave no gap. Overlapping shifts put both people on
duty. Schedules are written in local time (Europe/Paris); :func:`local_shift` turns one
into UTC once, at the daylight-saving rules of that day: a night shift lasts an hour less on
the spring-forward night and an hour more on the fall-back night.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "PARIS",
    "OnDuty",
    "Position",
    "ShiftSpan",
    "escalation_chain",
    "local_shift",
    "on_duty",
]

PARIS = ZoneInfo("Europe/Paris")


class Position(enum.StrEnum):
    PRIMARY = "primary"
    BACKUP = "backup"


@dataclass(frozen=True)
class ShiftSpan:
    """One person on duty as ``position`` over ``[starts_at, ends_at)`` (aware datetimes)."""

    address: str
    position: Position
    starts_at: datetime
    ends_at: datetime

    def __post_init__(self) -> None:
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise ValueError("shift times must carry a time zone")
        if self.ends_at <= self.starts_at:
            raise ValueError("a shift must end after it starts")

    def covers(self, at: datetime) -> bool:
        return self.starts_at <= at < self.ends_at


@dataclass(frozen=True)
class OnDuty:
    """The answer for one role at one instant: sorted, without duplicates."""

    primary: tuple[str, ...]
    backup: tuple[str, ...]
    head: str | None


def on_duty(
    shifts: Iterable[ShiftSpan],
    at: datetime,
    *,
    head: str | None = None,
    standing: Iterable[str] = (),
) -> OnDuty:
    """Everyone whose shift covers ``at``; someone both primary and backup counts as primary.

    ``standing`` are the role's own members, who hold it with no rota (a patient's care
    team, a role nobody schedules): they are its primary whenever no primary shift covers
    ``at``, so a case to the role reaches them all before any backup or the service.
    """
    if at.tzinfo is None:
        raise ValueError("the instant must carry a time zone")
    covering = [s for s in shifts if s.covers(at)]
    primary = {s.address for s in covering if s.position is Position.PRIMARY} or set(standing)
    backup = {s.address for s in covering if s.position is Position.BACKUP} - primary
    return OnDuty(tuple(sorted(primary)), tuple(sorted(backup)), head)


def escalation_chain(duty: OnDuty, service_members: Iterable[str] = ()) -> list[tuple[str, ...]]:
    """The steps to reach, in order: primary, backup, head of service, the service's members.

    Empty steps are skipped (nobody on duty falls back to the backup, then to the service),
    and nobody is reached twice. An empty list means nobody at all can be reached.
    """
    seen: set[str] = set()
    steps: list[tuple[str, ...]] = []
    head = (duty.head,) if duty.head else ()
    for group in (duty.primary, duty.backup, head, tuple(sorted(set(service_members)))):
        fresh = tuple(a for a in group if a not in seen)
        if fresh:
            steps.append(fresh)
            seen.update(fresh)
    return steps


def _instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """A local wall time as UTC (PEP 495, ``fold=0``).

    A repeated wall time (fall-back) is its first occurrence; a skipped one (spring-forward)
    is read with the offset before the gap, i.e. the instant the clocks show one gap later.
    """
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def local_shift(
    address: str,
    position: Position,
    day: date,
    start: time,
    end: time,
    zone: ZoneInfo = PARIS,
) -> ShiftSpan:
    """A shift written in local wall time; ``end <= start`` means it ends the next day."""
    end_day = day + timedelta(days=1) if end <= start else day
    starts, ends = _instant(day, start, zone), _instant(end_day, end, zone)
    if ends <= starts:
        raise ValueError("this shift lies wholly in the hour the clocks skip")
    return ShiftSpan(address, position, starts, ends)
