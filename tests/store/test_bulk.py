"""``insert_rows``: what goes in comes back, on SQLite and on PostgreSQL, for every column
type the group commit writes (a PostgreSQL array per column must not change a value)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    create_engine,
    delete,
    select,
)
from sqlalchemy.exc import IntegrityError

from caducee.store.bulk import insert_rows, insert_rows_returning_ids

metadata = MetaData()
sample = Table(
    "bulk_sample",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(40), unique=True, nullable=False),
    Column("big", BigInteger, nullable=False),
    Column("text", Text, nullable=False),
    Column("blob", LargeBinary, nullable=True),
    Column("names", JSON, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("state", String(16), nullable=False, default="stored"),
)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    url = database_url.replace("+aiosqlite", "")
    engine = create_engine(url)
    metadata.create_all(engine)
    try:
        yield engine
    finally:
        engine.dispose()


def _row(number: int, **changes: Any) -> dict[str, Any]:
    row = {
        "key": f"k-{number}",
        "big": 2**40 + number,
        "text": f"résultat n°{number}",
        "blob": bytes([number % 256]) * (number % 5),
        "names": [f"dr.{number}@caducee.test", "labo@caducee.test"],
        "at": datetime(2026, 11, 30, 3, 0, tzinfo=UTC) + timedelta(seconds=number),
    }
    return row | changes


def _stored(engine: Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as connection:
        rows = connection.execute(select(sample).order_by(sample.c.id))
        stored = {}
        for row in rows:
            values = row._asdict()
            at = values["at"]
            values["at"] = at if at.tzinfo else at.replace(tzinfo=UTC)  # SQLite: naive UTC
            stored[values["key"]] = values
        return stored


def test_rows_go_in_whole(engine: Engine) -> None:
    rows = [_row(n) for n in range(250)] + [_row(250, blob=None)]
    with engine.begin() as connection:
        insert_rows(connection, sample, rows)
    stored = _stored(engine)
    assert len(stored) == len(rows)
    for row in rows:
        got = stored[row["key"]]
        assert {k: got[k] for k in row} == row
        assert got["state"] == "stored"  # a column's Python default still applies


def test_a_computed_default_must_be_given(engine: Engine) -> None:
    """``COPY`` would leave it NULL: refused plainly on both engines, nothing written."""
    with_clock = Table(
        "bulk_clock",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("at", DateTime(timezone=True), default=lambda: datetime.now(UTC)),
    )
    with_clock.create(engine)
    refused = pytest.raises(ValueError, match=r"bulk_clock\.at: give its value")
    with refused, engine.begin() as connection:
        insert_rows(connection, with_clock, [{"id": 1}])
    with engine.begin() as connection:
        assert insert_rows_returning_ids(connection, with_clock, [{"at": None}]) == [1]
        insert_rows(connection, with_clock, [{"id": 7, "at": datetime.now(UTC)}])
    with engine.connect() as connection:
        assert list(connection.scalars(select(with_clock.c.id).order_by(with_clock.c.id))) == [1, 7]


def test_ids_come_back_in_the_order_of_the_rows(engine: Engine) -> None:
    rows = [_row(n) for n in range(40)]
    with engine.begin() as connection:
        insert_rows(connection, sample, [_row(100)])
        ids = insert_rows_returning_ids(connection, sample, rows)
    stored = _stored(engine)
    assert ids == [stored[row["key"]]["id"] for row in rows]
    assert len(set(ids)) == 40 and stored["k-100"]["id"] not in ids


def test_a_type_without_a_binary_form_here_goes_as_text(engine: Engine) -> None:
    """The sample table is copied in binary; a column type the module does not map (here
    a decimal) sends the whole copy in text, with the same result."""
    money = Table(
        "bulk_money",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("amount", Numeric(10, 2)),
        Column("note", LargeBinary),
    )
    money.create(engine)
    rows = [
        {"id": 1, "amount": Decimal("12.50"), "note": b"\x00\\N\t"},
        {"id": 2, "amount": None, "note": None},
    ]
    with engine.begin() as connection:
        insert_rows(connection, money, rows)
    with engine.connect() as connection:
        stored = [r._asdict() for r in connection.execute(select(money).order_by(money.c.id))]
    assert stored == rows


def test_nothing_to_insert_runs_nothing(engine: Engine) -> None:
    with engine.begin() as connection:
        assert insert_rows_returning_ids(connection, sample, []) == []
        insert_rows(connection, sample, [])
    assert _stored(engine) == {}


def test_the_same_statement_serves_every_batch_size(engine: Engine) -> None:
    """Batches of any size land, one after the other."""
    start = 0
    for size in (1, 7, 300, 2):
        with engine.begin() as connection:
            insert_rows(connection, sample, [_row(n) for n in range(start, start + size)])
        start += size
    assert len(_stored(engine)) == start


def test_a_duplicate_fails_the_whole_statement(engine: Engine) -> None:
    """A unique violation refuses the batch whole (the group commit then retries one by
    one): no row of it is half-written."""
    with engine.begin() as connection:
        insert_rows(connection, sample, [_row(1)])
    with pytest.raises(IntegrityError), engine.begin() as connection:
        insert_rows(connection, sample, [_row(2), _row(1), _row(3)])
    assert list(_stored(engine)) == ["k-1"]


texts = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            texts,
            st.one_of(st.none(), st.binary(max_size=300)),
            st.lists(texts, max_size=3),
            st.integers(-(2**63), 2**63 - 1),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_any_values_round_trip(engine: Engine, values: list[tuple[Any, ...]]) -> None:
    rows = [
        _row(n, text=text, blob=blob, names=names, big=big)
        for n, (text, blob, names, big) in enumerate(values)
    ]
    with engine.begin() as connection:
        connection.execute(delete(sample))
        insert_rows(connection, sample, rows)
    stored = _stored(engine)
    for row in rows:
        assert {k: stored[row["key"]][k] for k in row} == row
