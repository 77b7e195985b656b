"""The blocking engine pings a pooled PostgreSQL connection only after it sat idle: a
connection whose server process was killed while idle is replaced unseen; a hot one is
used without a round trip (what the group commit saves on every batch)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from caducee.store.database import ping_when_idle

pytestmark = pytest.mark.postgres
SHORT, LONG = 0.3, 30.0  # idle times: one the tests wait out, one they never reach


@pytest.fixture
def engines(postgres_server: str) -> Iterator[dict[float, Engine]]:
    url = postgres_server.replace("postgresql://", "postgresql+psycopg://", 1)
    made = {}
    for idle in (SHORT, LONG):
        made[idle] = create_engine(url, pool_size=1, max_overflow=0)
        ping_when_idle(made[idle], idle)
    try:
        yield made
    finally:
        for engine in made.values():
            engine.dispose()


def _backend(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(text("SELECT pg_backend_pid()")) or 0)


def _kill(admin_dsn: str, pid: int) -> None:
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    time.sleep(0.1)  # the server process ends


def test_an_idle_connection_whose_server_died_is_replaced(
    engines: dict[float, Engine], postgres_server: str
) -> None:
    engine = engines[SHORT]
    first = _backend(engine)
    _kill(postgres_server, first)
    time.sleep(SHORT)
    second = _backend(engine)  # no error: the ping found it dead, the pool reconnected
    assert second != first


def test_a_hot_connection_is_not_pinged(engines: dict[float, Engine], postgres_server: str) -> None:
    """Within the idle time no ping runs: a connection killed meanwhile fails its statement
    (the group commit answers that batch with an error; the next checkout reconnects)."""
    engine = engines[LONG]
    first = _backend(engine)
    _kill(postgres_server, first)
    with pytest.raises(OperationalError), engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    assert _backend(engine) != first
