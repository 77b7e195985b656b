"""The pure on-call resolver: overlaps, gaps, handovers at midnight, DST in Europe/Paris."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caducee.instant.oncall import (
    PARIS,
    OnDuty,
    Position,
    ShiftSpan,
    escalation_chain,
    local_shift,
    on_duty,
)

PEOPLE = [f"dr.{n}@synthetic.caducee.test" for n in ("a", "b", "c", "d", "e")]
BASE = datetime(2026, 3, 28, 0, 0, tzinfo=UTC)  # the weekend of a spring-forward

instants = st.integers(min_value=0, max_value=5 * 24 * 60).map(
    lambda m: BASE + timedelta(minutes=m)
)


@st.composite
def spans(draw: st.DrawFn) -> ShiftSpan:
    start = draw(st.integers(min_value=0, max_value=5 * 24 * 60 - 1))
    length = draw(st.integers(min_value=1, max_value=24 * 60))
    return ShiftSpan(
        draw(st.sampled_from(PEOPLE)),
        draw(st.sampled_from(list(Position))),
        BASE + timedelta(minutes=start),
        BASE + timedelta(minutes=start + length),
    )


@given(st.lists(spans(), max_size=12), instants)
def test_on_duty_is_exactly_who_a_covering_shift_names(
    shifts: list[ShiftSpan], at: datetime
) -> None:
    duty = on_duty(shifts, at)
    primary = {s.address for s in shifts if s.position is Position.PRIMARY and s.covers(at)}
    backup = {s.address for s in shifts if s.position is Position.BACKUP and s.covers(at)}
    assert set(duty.primary) == primary
    assert set(duty.backup) == backup - primary
    assert list(duty.primary) == sorted(duty.primary)
    assert on_duty(list(reversed(shifts)), at) == duty  # order of the schedule is irrelevant


@given(st.lists(spans(), max_size=12), instants, st.sets(st.sampled_from(PEOPLE)))
def test_standing_members_are_the_primary_only_when_no_primary_shift_covers(
    shifts: list[ShiftSpan], at: datetime, standing: set[str]
) -> None:
    scheduled = on_duty(shifts, at)
    duty = on_duty(shifts, at, standing=sorted(standing, reverse=True))
    assert set(duty.primary) == (set(scheduled.primary) or standing)
    assert list(duty.primary) == sorted(duty.primary)
    assert not set(duty.backup) & set(duty.primary)
    assert set(duty.backup) == set(scheduled.backup) - set(duty.primary)


@given(st.lists(spans(), min_size=1, max_size=12), instants)
def test_a_gap_leaves_nobody_and_an_overlap_everybody(
    shifts: list[ShiftSpan], at: datetime
) -> None:
    duty = on_duty(shifts, at)
    if not any(s.covers(at) for s in shifts):
        assert duty == OnDuty((), (), None)
    covering = [s for s in shifts if s.covers(at) and s.position is Position.PRIMARY]
    assert len(duty.primary) == len({s.address for s in covering})


@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)))
def test_back_to_back_night_and_day_shifts_leave_no_gap_at_any_handover(day: date) -> None:
    night = local_shift(PEOPLE[0], Position.PRIMARY, day, time(18), time(8))
    following = local_shift(PEOPLE[1], Position.PRIMARY, day + timedelta(days=1), time(8), time(18))
    assert night.ends_at == following.starts_at
    handover = night.ends_at
    assert on_duty([night, following], handover).primary == (PEOPLE[1],)
    assert on_duty([night, following], handover - timedelta(microseconds=1)).primary == (PEOPLE[0],)
    midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=PARIS)
    assert on_duty([night, following], midnight).primary == (PEOPLE[0],)


@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)))
def test_a_night_shift_lasts_fourteen_hours_give_or_take_the_dst_hour(day: date) -> None:
    night = local_shift(PEOPLE[0], Position.PRIMARY, day, time(18), time(8))
    evening = datetime.combine(day, time(18), tzinfo=PARIS).utcoffset()
    morning = datetime.combine(day + timedelta(days=1), time(8), tzinfo=PARIS).utcoffset()
    assert evening is not None and morning is not None
    assert night.ends_at - night.starts_at == timedelta(hours=14) - (morning - evening)


def test_dst_nights_of_2026_in_paris() -> None:
    spring = local_shift(PEOPLE[0], Position.PRIMARY, date(2026, 3, 28), time(20), time(8))
    autumn = local_shift(PEOPLE[0], Position.PRIMARY, date(2026, 10, 24), time(20), time(8))
    assert spring.ends_at - spring.starts_at == timedelta(hours=11)
    assert autumn.ends_at - autumn.starts_at == timedelta(hours=13)
    # 02:30 on 29 March 2026 never happens in Paris: it is read as 03:30 CEST (01:30 UTC).
    skipped = local_shift(PEOPLE[0], Position.PRIMARY, date(2026, 3, 29), time(2, 30), time(6))
    assert skipped.starts_at == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    # 02:30 on 25 October 2026 happens twice: the first one (CEST, 00:30 UTC) is taken.
    repeated = local_shift(PEOPLE[0], Position.PRIMARY, date(2026, 10, 25), time(2, 30), time(6))
    assert repeated.starts_at == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    with pytest.raises(ValueError, match="skip"):
        local_shift(PEOPLE[0], Position.PRIMARY, date(2026, 3, 29), time(2, 30), time(3))


def test_bad_shifts_and_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError):
        ShiftSpan(PEOPLE[0], Position.PRIMARY, BASE, BASE)
    with pytest.raises(ValueError):
        ShiftSpan(PEOPLE[0], Position.PRIMARY, BASE.replace(tzinfo=None), BASE)
    with pytest.raises(ValueError):
        on_duty([], BASE.replace(tzinfo=None))


@given(
    st.lists(st.sampled_from(PEOPLE), max_size=3, unique=True),
    st.lists(st.sampled_from(PEOPLE), max_size=3, unique=True),
    st.none() | st.sampled_from(PEOPLE),
    st.lists(st.sampled_from(PEOPLE), max_size=5),
)
def test_the_escalation_chain_skips_empty_steps_and_reaches_nobody_twice(
    primary: list[str], backup: list[str], head: str | None, service: list[str]
) -> None:
    duty = OnDuty(tuple(sorted(primary)), tuple(sorted(set(backup) - set(primary))), head)
    steps = escalation_chain(duty, service)
    reached = [a for step in steps for a in step]
    assert len(reached) == len(set(reached))
    assert all(steps)
    assert set(reached) == set(primary) | set(backup) | ({head} if head else set()) | set(service)
    if primary:
        assert steps[0] == duty.primary
    elif backup:
        assert steps[0] == duty.backup  # nobody on duty: the backup first
    elif head:
        assert steps[0] == (head,)  # then the head of service, then the service
