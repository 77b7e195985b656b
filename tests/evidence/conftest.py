"""A log on each engine, with a deterministic key and synthetic records (ids only)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from caducee.evidence import EvidenceLog, LogIdentity
from caducee.store import Database
from tests.evidence.samples import ORIGIN, identity_key, make_record
from tests.server.conftest import (  # noqa: F401  (fixtures: one migration per session)
    migrated_url,
    postgres_migrated,
    sqlite_template,
)


@pytest.fixture(scope="session")
def identity() -> LogIdentity:
    return LogIdentity(ORIGIN, identity_key())


@pytest.fixture
async def database(migrated_url: str) -> AsyncIterator[Database]:  # noqa: F811
    """A migrated, empty database on each engine (migrated once per session)."""
    db = Database(migrated_url)
    try:
        yield db
    finally:
        await db.close()


@pytest.fixture
def log(database: Database, identity: LogIdentity) -> EvidenceLog:
    return EvidenceLog(database, identity)


async def fill(log: EvidenceLog, count: int, *, start: int = 0, tag: str = "") -> None:
    async with log.database.transaction() as session:
        await log.append_many(
            session, [make_record(i, tag=tag) for i in range(start, start + count)]
        )
