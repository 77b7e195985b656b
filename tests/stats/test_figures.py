"""The closed days' figures against a brute-force count over the same activity."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from caducee.stats.figures import (
    ACTIVE_WINDOW_DAYS,
    DAILY_MIN_DAYS,
    ActivityRow,
    compute_figures,
)

START = date(2026, 1, 20)
TYPES = ("lab", "gp_practice", "nursing_home")


def _rows(
    activity: dict[int, set[date]], kind: dict[int, str], org: dict[int, str | None]
) -> list[ActivityRow]:
    months: dict[tuple[int, date], int] = {}
    for user, days in activity.items():
        for d in days:
            key = (user, d.replace(day=1))
            months[key] = months.get(key, 0) | (1 << (d.day - 1))
    return [ActivityRow(u, m, kind[u], org[u], bits) for (u, m), bits in months.items()]


def _brute(
    activity: dict[int, set[date]],
    kind: dict[int, str],
    org: dict[int, str | None],
    first: date,
    last: date,
) -> dict[tuple[date, str], tuple[int, int, int]]:
    out: dict[tuple[date, str], tuple[int, int, int]] = {}
    day = first
    while day <= last:
        window = {day - timedelta(days=i) for i in range(ACTIVE_WINDOW_DAYS)}
        for t in set(kind.values()):
            users = [u for u in activity if kind[u] == t]
            counts = {u: len(activity[u] & window) for u in users}
            active = [u for u in users if counts[u] > 0]
            daily = [u for u in users if counts[u] >= DAILY_MIN_DAYS]
            orgs = {org[u] for u in active if org[u] is not None}
            out[(day, t)] = (len(active), len(daily), len(orgs))
        day += timedelta(days=1)
    return out


@settings(max_examples=40, deadline=None)
@given(
    users=st.lists(
        st.tuples(
            st.sampled_from(TYPES),
            st.sampled_from([None, "1", "2", "3"]),
            st.sets(st.integers(0, 120), max_size=70),
        ),
        min_size=1,
        max_size=12,
    ),
    first_offset=st.integers(0, 80),
    length=st.integers(1, 40),
)
def test_figures_match_a_brute_force_count(
    users: list[tuple[str, str | None, set[int]]], first_offset: int, length: int
) -> None:
    kind = {i: t for i, (t, _, _) in enumerate(users)}
    # an establishment has one type: its FINESS here is its type and a number
    org = {i: None if o is None else f"{t}-{o}" for i, (t, o, _) in enumerate(users)}
    activity = {
        i: {START + timedelta(days=d) for d in days} for i, (_, _, days) in enumerate(users)
    }
    first = START + timedelta(days=first_offset)
    last = first + timedelta(days=length - 1)
    rows = _rows(activity, kind, org)
    computed = {
        (f["day"], f["org_type"]): (f["active_users"], f["daily_users"], f["active_establishments"])
        for f in compute_figures(rows, first, last)
    }
    expected = _brute(activity, kind, org, first, last)
    if not rows:
        assert computed == {}
        return
    for key, value in expected.items():
        if key[1] in {r.org_type for r in rows}:
            assert computed[key] == value, key


def test_a_user_every_weekday_is_a_daily_user_and_one_message_a_month_is_not() -> None:
    weekdays = {
        START + timedelta(days=d) for d in range(60) if (START + timedelta(days=d)).weekday() < 5
    }
    activity = {1: weekdays, 2: {START + timedelta(days=40)}}
    kind = {1: "lab", 2: "lab"}
    org = {1: "990000001", 2: "990000019"}
    day = START + timedelta(days=59)
    [figure] = compute_figures(_rows(activity, kind, org), day, day)
    assert figure == {
        "day": day,
        "org_type": "lab",
        "active_users": 2,
        "daily_users": 1,
        "active_establishments": 2,
    }
