"""The relay's commit hook keeps the rollups; checked against a brute-force count.

Small synthetic traffic over two months is fed through :class:`RollupCounter` in batches,
each in its own transaction on the real database (SQLite and PostgreSQL), then the days are
closed; every figure is compared with a count made directly from the same events.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from caducee.directory import DirectoryService
from caducee.directory.identifiers import luhn_complete
from caducee.relay.hooks import Accepted
from caducee.stats.figures import ACTIVE_WINDOW_DAYS, DAILY_MIN_DAYS, close_days
from caducee.stats.models import DailyRollup, DayFigures, UserMonth
from caducee.stats.rollup import RollupCounter, french_day
from caducee.store import Database

TYPES = ("lab", "gp_practice", "nursing_home", "university_hospital")


async def _directory(
    database: Database,
) -> tuple[dict[int, str], dict[int, str | None], dict[int, str]]:
    """Four establishments, nine people (one alone); mailbox → type, FINESS, address."""
    directory = DirectoryService(database)
    kind: dict[int, str] = {}
    org: dict[int, str | None] = {}
    address: dict[int, str] = {}
    for n, org_type in enumerate(TYPES):
        finess = luhn_complete(f"9900000{n}"[:8])
        beds = 80 if org_type == "nursing_home" else None
        await directory.register_organisation(
            finess=finess, name=f"Org {n}", type=org_type, beds=beds
        )
        for p in range(2):
            rpps = luhn_complete(f"99{n:04d}{p:04d}")
            await directory.register_person(
                rpps=rpps, given_name="A", family_name=f"P{n}{p}", profession="médecin",
                organisation_finess=finess,
            )  # fmt: skip
            box = f"p{n}{p}@stats.test"
            mailbox_id = await directory.create_mailbox(
                address=box, kind="personal", person_rpps=rpps
            )
            kind[mailbox_id], org[mailbox_id], address[mailbox_id] = org_type, finess, box
    rpps = luhn_complete("9999999999")
    await directory.register_person(
        rpps=rpps, given_name="B", family_name="Seul", profession="infirmier"
    )
    mailbox_id = await directory.create_mailbox(
        address="seul@stats.test", kind="personal", person_rpps=rpps
    )
    kind[mailbox_id], org[mailbox_id], address[mailbox_id] = "none", None, "seul@stats.test"
    return kind, org, address


async def test_rollups_and_figures_match_a_brute_force_count(database: Database) -> None:
    kind, org, address = await _directory(database)
    rng = random.Random(7)
    boxes = sorted(kind)
    start = datetime(2026, 9, 1, 5, 0, tzinfo=UTC)
    facts: list[Accepted] = []
    for n in range(600):
        moment = start + timedelta(minutes=rng.randrange(0, 60 * 24 * 61))
        sender = rng.choice(boxes)
        recipients = rng.sample([b for b in boxes if b != sender], rng.choice((1, 1, 1, 3)))
        facts.append(
            Accepted(
                message_id=f"m{n}",
                sender_mailbox_id=sender,
                sender=address[sender],
                recipients=tuple((address[r], r) for r in recipients),
                size=rng.randrange(100, 10_000),
                ciphertext_sha256="0" * 64,
                accepted_at=moment,
            )
        )
    facts.sort(key=lambda f: f.accepted_at)
    counter = RollupCounter()
    for i in range(0, len(facts), 37):  # batches, as the group commit makes them
        with database.sync_engine.begin() as connection:
            counter(connection, facts[i : i + 37])
    last = french_day(facts[-1].accepted_at)
    with database.sync_engine.begin() as connection:
        closed = close_days(connection, last)
    # brute force
    messages: Counter[tuple[date, str]] = Counter()
    deliveries: Counter[tuple[date, str]] = Counter()
    volume: Counter[tuple[date, str]] = Counter()
    active_days: dict[int, set[date]] = {b: set() for b in boxes}
    for f in facts:
        day = french_day(f.accepted_at)
        messages[(day, kind[f.sender_mailbox_id])] += 1
        volume[(day, kind[f.sender_mailbox_id])] += f.size
        active_days[f.sender_mailbox_id].add(day)
        for _, r in f.recipients:
            deliveries[(day, kind[r])] += 1
            active_days[r].add(day)
    async with database.sessions() as session:
        rows = list(await session.scalars(select(DailyRollup)))
        figures = list(await session.scalars(select(DayFigures)))
        months = list(await session.scalars(select(UserMonth)))
    assert {(r.day, r.org_type): r.messages for r in rows if r.messages} == dict(messages)
    assert {(r.day, r.org_type): r.deliveries for r in rows if r.deliveries} == dict(deliveries)
    assert {(r.day, r.org_type): r.bytes for r in rows if r.bytes} == dict(volume)
    assert {(m.mailbox_id, m.month) for m in months} == {
        (b, d.replace(day=1)) for b, days in active_days.items() for d in days
    }
    first = min(french_day(f.accepted_at) for f in facts)
    assert closed == (last - first).days + 1
    assert len({f.day for f in figures}) == closed
    for figure in figures:
        window = {figure.day - timedelta(days=i) for i in range(ACTIVE_WINDOW_DAYS)}
        users = [b for b in boxes if kind[b] == figure.org_type]
        counts = {b: len(active_days[b] & window) for b in users}
        assert figure.active_users == sum(1 for c in counts.values() if c), figure.day
        assert figure.daily_users == sum(1 for c in counts.values() if c >= DAILY_MIN_DAYS)
        assert figure.active_establishments == len(
            {org[b] for b, c in counts.items() if c and org[b] is not None}
        )
    assert any(f.daily_users for f in figures)  # the data exercises every figure
    # closing again is a no-op; recomputing gives the same figures
    with database.sync_engine.begin() as connection:
        assert close_days(connection, last) == 0
        close_days(connection, last, recompute_from=first)
    async with database.sessions() as session:
        again = {
            (f.day, f.org_type, f.active_users, f.daily_users)
            for f in await session.scalars(select(DayFigures))
        }
    assert again == {(f.day, f.org_type, f.active_users, f.daily_users) for f in figures}


async def test_a_day_is_marked_once_per_mailbox(database: Database) -> None:
    kind, _, address = await _directory(database)
    a, b = sorted(kind)[:2]
    moment = datetime(2026, 10, 5, 10, 0, tzinfo=UTC)
    fact = Accepted("x1", a, address[a], ((address[b], b),), 10, "0" * 64, moment)
    counter = RollupCounter()
    with database.sync_engine.begin() as connection:
        counter(connection, [fact])
    statements: list[str] = []
    from sqlalchemy import event

    def spy(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(database.sync_engine, "before_cursor_execute", spy)
    try:
        with database.sync_engine.begin() as connection:
            counter(
                connection,
                [Accepted("x2", a, address[a], ((address[b], b),), 10, "0" * 64, moment)],
            )
    finally:
        event.remove(database.sync_engine, "before_cursor_execute", spy)
    assert [s for s in statements if "stats_user_month" in s] == []  # already marked today
    assert len([s for s in statements if "stats_daily" in s]) == 1
    async with database.sessions() as session:
        [month] = list(await session.scalars(select(UserMonth).where(UserMonth.mailbox_id == a)))
        day_rows = list(await session.scalars(select(DailyRollup)))
    assert month.days == 1 << 4
    assert sum(r.messages for r in day_rows) == 2


async def test_a_rolled_back_batch_marks_nothing(database: Database) -> None:
    kind, _, address = await _directory(database)
    a, b = sorted(kind)[:2]
    moment = datetime(2026, 10, 6, 10, 0, tzinfo=UTC)
    counter = RollupCounter()
    fact = Accepted("y1", a, address[a], ((address[b], b),), 10, "0" * 64, moment)
    connection = database.sync_engine.connect()
    transaction = connection.begin()
    counter(connection, [fact])
    transaction.rollback()  # the relay's batch failed: nothing was written
    connection.close()
    with database.sync_engine.begin() as connection:
        counter(
            connection, [Accepted("y2", a, address[a], ((address[b], b),), 10, "0" * 64, moment)]
        )
    async with database.sessions() as session:
        months = {m.mailbox_id: m.days for m in await session.scalars(select(UserMonth))}
    assert months == {a: 1 << 5, b: 1 << 5}
