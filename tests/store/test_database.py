"""The database layer on SQLite and PostgreSQL: migrations, pragmas, transactions."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

from caducee.store import Database, StoreUnavailable, downgrade_database, upgrade_database
from caducee.store.models import IssuedCertificate
from tests.store.samples import certificate_row


async def test_migrations_create_the_schema_and_round_trip(database_url: str) -> None:
    upgrade_database(database_url)
    db = Database(database_url)
    try:
        async with db.engine.connect() as connection:
            tables = await connection.run_sync(lambda c: inspect(c).get_table_names())
        assert "issued_certificate" in tables
        assert "alembic_version" in tables
    finally:
        await db.close()
    downgrade_database(database_url, "base")
    db = Database(database_url)
    try:
        async with db.engine.connect() as connection:
            tables = await connection.run_sync(lambda c: inspect(c).get_table_names())
        assert "issued_certificate" not in tables
    finally:
        await db.close()
    upgrade_database(database_url)  # and up again: migrations are repeatable


async def test_a_committed_row_is_read_back_and_a_failed_transaction_leaves_nothing(
    database: Database,
) -> None:
    async with database.transaction() as session:
        session.add(certificate_row("01", "a" * 64))
    with pytest.raises(IntegrityError):
        async with database.transaction() as session:
            session.add(certificate_row("02", "b" * 64))
            session.add(certificate_row("03", "a" * 64))  # same fingerprint: unique violation
    async with database.sessions() as session:
        serials = (await session.scalars(select(IssuedCertificate.serial_hex))).all()
    assert serials == ["01"]


async def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'pragmas.db'}")
    async with database.engine.connect() as connection:
        mode = (await connection.execute(text("PRAGMA journal_mode"))).scalar_one()
        timeout = (await connection.execute(text("PRAGMA busy_timeout"))).scalar_one()
        synchronous = (await connection.execute(text("PRAGMA synchronous"))).scalar_one()
    assert mode == "wal"
    assert timeout >= 5000
    assert synchronous == 2  # FULL
    await database.close()


async def test_ping_names_an_unreachable_database() -> None:
    db = Database("postgresql+psycopg://nobody:secret@127.0.0.1:1/none")
    try:
        with pytest.raises(StoreUnavailable) as caught:
            await db.ping()
        assert "127.0.0.1:1" in caught.value.reason
        assert "secret" not in caught.value.reason
    finally:
        await db.close()
