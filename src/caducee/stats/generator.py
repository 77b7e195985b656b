"""A synthetic year for demonstrations and benchmarks: a directory and its message events.

:func:`generate` fills a deployment with invented establishments (labs, university and
general hospitals, clinics, nursing homes with beds, GP practices, pharmacies, over the 13
regions of metropolitan France), ``users`` people with their mailboxes, and ``days`` days
of message events, simulated one day at a time with numpy: every person present that day
receives at least one message, senders are drawn with labs' result mailboxes weighing most.
The events are folded straight into the rollups the relay's hook keeps (``stats_daily``,
``stats_user_month``), then the days are closed (``stats_day_figures``); no message row is
written. Every identifier is synthetic (FINESS and RPPS starting with 99, addresses in
``synthetique.caducee.test``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
from sqlalchemy import Engine, func, insert, select

from caducee.directory.identifiers import luhn_complete
from caducee.directory.models import Mailbox, Organisation, OrganisationType, Person
from caducee.stats.establishments import refresh_establishments
from caducee.stats.figures import ActivityRow, compute_figures
from caducee.stats.labels import REGIONS
from caducee.stats.models import DailyRollup, DayFigures, UserMonth

__all__ = ["GENERATED_DOMAIN", "GenerationReport", "Progress", "generate"]

log = logging.getLogger(__name__)
GENERATED_DOMAIN = "synthetique.caducee.test"
# establishments per 70,000 users, people per establishment, sending weight per person
MIX: tuple[tuple[OrganisationType, int, int, float], ...] = (
    (OrganisationType.LAB, 1_000, 4, 40.0),
    (OrganisationType.UNIVERSITY_HOSPITAL, 32, 150, 3.0),
    (OrganisationType.GENERAL_HOSPITAL, 300, 20, 2.0),
    (OrganisationType.CLINIC, 400, 8, 1.5),
    (OrganisationType.NURSING_HOME, 1_500, 2, 0.5),
    (OrganisationType.PHARMACY, 2_000, 1, 0.3),
    (OrganisationType.GP_PRACTICE, 0, 2, 1.0),  # the rest of the users
)
DAILY_SHARE = 0.835  # people who use it every working day
YEARLY_GROWTH = 0.114
LAB_SHARE = 0.95  # labs of the directory that join the network
Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass(frozen=True)
class GenerationReport:
    establishments: int
    users: int
    days: int
    messages: int
    deliveries: int
    first_day: date
    last_day: date
    seconds: float


def _finess(i: int) -> str:
    return luhn_complete(f"99{i:06d}")


def _rpps(i: int) -> str:
    return luhn_complete(f"99{i:08d}")


def _chunks(rows: list[dict[str, object]], size: int = 5_000) -> list[list[dict[str, object]]]:
    return [rows[i : i + size] for i in range(0, len(rows), size)]


class _World:
    """The invented directory: establishments, people, their type, FINESS and weights."""

    def __init__(self, users: int, rng: np.random.Generator, first_mailbox_id: int) -> None:
        scale = users / 70_000
        self.organisations: list[dict[str, object]] = []
        owner: list[int] = []
        for kind, count, per, _ in MIX:
            n = max(1, round(count * scale)) if count else 0
            if kind is OrganisationType.GP_PRACTICE:
                n = max(1, (users - len(owner)) // per)
            for _ in range(n):
                index = len(self.organisations)
                region = REGIONS[int(rng.integers(len(REGIONS)))]
                label = kind.value.replace("_", " ")
                self.organisations.append(
                    {
                        "finess": _finess(index),
                        "name": f"{label.capitalize()} synthétique n° {index}",
                        "type": kind.value,
                        "beds": int(rng.integers(30, 150))
                        if kind is OrganisationType.NURSING_HOME
                        else None,
                        "address": "",
                        "postcode": "",
                        "city": f"Ville {index % 500}",
                        "region": region,
                        "created_at": datetime(2020, 1, 1, tzinfo=UTC),
                    }
                )
                if len(owner) < users:
                    owner.extend([index] * min(per, users - len(owner)))
        while len(owner) < users:  # rounding: the rest in GP practices
            owner.append(len(self.organisations) - 1)
        self.owner = np.array(owner[:users], dtype=np.int64)
        types = [str(o["type"]) for o in self.organisations]
        self.type_names = sorted(set(types))
        org_type = np.array([self.type_names.index(t) for t in types], dtype=np.int64)
        self.user_type = org_type[self.owner]
        weights = {k.value: w for k, _, _, w in MIX}
        self.weight = np.array([weights[self.type_names[t]] for t in self.user_type])
        self.mailbox_ids = np.arange(first_mailbox_id, first_mailbox_id + users, dtype=np.int64)
        lab = self.type_names.index(OrganisationType.LAB.value)
        joining = rng.random(len(self.organisations)) < LAB_SHARE
        self.org_joins = np.where(org_type == lab, joining, True)


def _presence(world: _World, days: int, start: date, rng: np.random.Generator) -> np.ndarray:
    """users × days: who is at work on the network that day."""
    users = len(world.owner)
    regular = rng.random(users) < DAILY_SHARE
    p_weekday = np.where(regular, 0.93, 0.22)
    # adoption: 1/(1+g) of the users at the start of the year, the rest join during it
    year = min(days, 365)
    joined_at = np.where(
        rng.random(users) < 1 / (1 + YEARLY_GROWTH), 0, rng.integers(days - year, days, users)
    )
    joined_at = np.where(world.org_joins[world.owner], joined_at, days)  # labs not joining
    weekday = np.array([(start + timedelta(days=d)).weekday() < 5 for d in range(days)])
    matrix = np.empty((users, days), dtype=bool)
    for d in range(days):
        p = p_weekday if weekday[d] else p_weekday * 0.08
        matrix[:, d] = (rng.random(users) < p) & (joined_at <= d)
    return matrix


def generate(
    engine: Engine,
    *,
    users: int = 70_000,
    days: int = 395,
    end: date | None = None,
    seed: int = 2026,
    progress: Progress | None = None,
) -> GenerationReport:
    """Fill ``engine``'s deployment; refuses one that already has figures or this data."""
    began = datetime.now(UTC)
    tick = progress or (lambda _stage, _done, _total: None)
    rng = np.random.default_rng(seed)
    end = end or (datetime.now(UTC).date() - timedelta(days=1))
    start = end - timedelta(days=days - 1)
    with engine.begin() as connection:
        if connection.scalar(select(func.count()).select_from(DailyRollup)):
            raise ValueError("this deployment already has figures: generate into an empty one")
        if connection.scalar(select(Organisation.finess).where(Organisation.finess == _finess(0))):
            raise ValueError("the synthetic directory is already there")
        first_id = int(connection.scalar(select(func.coalesce(func.max(Mailbox.id), 0))) or 0) + 1
    world = _World(users, rng, first_id)
    _write_directory(engine, world, tick)
    presence = _presence(world, days, start, rng)
    activity = np.zeros_like(presence)
    daily_rows: list[dict[str, object]] = []
    total_messages = 0
    for d in range(days):
        present = np.flatnonzero(presence[:, d])
        if present.size < 2:
            tick("days", d + 1, days)
            continue
        extra = rng.poisson(0.6 * present.size)
        recipients = np.concatenate([present, rng.choice(present, extra)])
        w = world.weight[present]
        senders = present[np.searchsorted(np.cumsum(w), rng.random(recipients.size) * w.sum())]
        sizes = rng.lognormal(10.3, 1.0, recipients.size).astype(np.int64)  # ~30 kB
        activity[senders, d] = True
        activity[recipients, d] = True
        n = len(world.type_names)
        sent = np.bincount(world.user_type[senders], minlength=n)
        received = np.bincount(world.user_type[recipients], minlength=n)
        volume = np.bincount(world.user_type[senders], weights=sizes, minlength=n)
        day = start + timedelta(days=d)
        for t, name in enumerate(world.type_names):
            if sent[t] or received[t]:
                daily_rows.append(
                    {
                        "day": day,
                        "org_type": name,
                        "messages": int(sent[t]),
                        "deliveries": int(received[t]),
                        "bytes": int(volume[t]),
                    }
                )
        total_messages += int(recipients.size)
        tick("days", d + 1, days)
    rows = _month_rows(world, activity, start)
    _write_rollups(engine, daily_rows, rows, tick)
    tick("figures", 0, 1)
    figures = compute_figures(rows, start, end)
    with engine.begin() as connection:
        for chunk in _chunks(figures):
            connection.execute(insert(DayFigures), chunk)
        refresh_establishments(connection)
    tick("figures", 1, 1)
    seconds = (datetime.now(UTC) - began).total_seconds()
    log.info("generated %d messages over %d users in %.1f s", total_messages, users, seconds)
    return GenerationReport(
        len(world.organisations), users, days, total_messages, total_messages, start, end, seconds
    )


def _month_rows(world: _World, activity: np.ndarray, start: date) -> list[ActivityRow]:
    """One bitmap row per (user, month) with activity."""
    rows: list[ActivityRow] = []
    days = activity.shape[1]
    month = start.replace(day=1)
    finesses = [str(o["finess"]) for o in world.organisations]
    while month <= start + timedelta(days=days - 1):
        following = (month + timedelta(days=32)).replace(day=1)
        lo = max(0, (month - start).days)
        hi = min(days, (following - start).days)
        bits = np.zeros(activity.shape[0], dtype=np.int64)
        for column in range(lo, hi):
            day = start + timedelta(days=column)
            bits |= activity[:, column].astype(np.int64) << (day.day - 1)
        for user in np.flatnonzero(bits):
            rows.append(
                ActivityRow(
                    int(world.mailbox_ids[user]),
                    month,
                    world.type_names[world.user_type[user]],
                    finesses[world.owner[user]],
                    int(bits[user]),
                )
            )
        month = following
    return rows


def _write_directory(engine: Engine, world: _World, tick: Progress) -> None:
    users = len(world.owner)
    people = [
        {
            "rpps": _rpps(i),
            "given_name": "Camille",
            "family_name": f"SYNTHESE{i}",
            "profession": "médecin",
            "specialty": None,
            "organisation_finess": world.organisations[int(world.owner[i])]["finess"],
            "created_at": datetime(2020, 1, 1, tzinfo=UTC),
        }
        for i in range(users)
    ]
    mailboxes = [
        {
            "id": int(world.mailbox_ids[i]),
            "address": f"u{i}@{GENERATED_DOMAIN}",
            "kind": "personal",
            "person_rpps": people[i]["rpps"],
            "organisation_finess": None,
            "active": True,
            "last_sequence": 0,
            "created_at": datetime(2020, 1, 1, tzinfo=UTC),
        }
        for i in range(users)
    ]
    batches = [
        (Organisation, _chunks(world.organisations)),
        (Person, _chunks(people)),
        (Mailbox, _chunks(mailboxes)),
    ]
    total = sum(len(c) for _, c in batches)
    done = 0
    with engine.begin() as connection:
        for table, chunks in batches:
            for chunk in chunks:
                connection.execute(insert(table), chunk)
                done += 1
                tick("directory", done, total)
        if connection.dialect.name == "postgresql":  # the serial follows explicit ids
            connection.exec_driver_sql(
                "SELECT setval(pg_get_serial_sequence('directory_mailbox', 'id'), "
                "(SELECT MAX(id) FROM directory_mailbox))"
            )


def _write_rollups(
    engine: Engine,
    daily: list[dict[str, object]],
    months: list[ActivityRow],
    tick: Progress,
) -> None:
    chunks = _chunks(daily) + _chunks([asdict(r) for r in months], 20_000)
    with engine.begin() as connection:
        for i, chunk in enumerate(chunks):
            table = DailyRollup if "messages" in chunk[0] else UserMonth
            connection.execute(insert(table), chunk)
            tick("rollups", i + 1, len(chunks))
