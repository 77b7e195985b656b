"""Fixtures every part shares: a database on each engine, a blob store, a moto S3 server.

Database tests take the ``database_url`` fixture and so run on SQLite always and on
PostgreSQL whenever it answers on 127.0.0.1:5432 (CI makes sure it does, and sets
``CADUCEE_REQUIRE_POSTGRES=1`` so that a missing server fails instead of skipping).
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from caducee.store import Database, upgrade_database

# Property tests judge correctness, not speed: on a loaded two-core machine (CI starts
# servers and browsers beside them) input generation and examples run slowly, and
# Hypothesis's timing checks would fail a test for the machine's load.
settings.register_profile("caducee", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("caducee")

POSTGRES_ADMIN_DSN = os.environ.get(
    "CADUCEE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _postgres_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The admin DSN of the machine's PostgreSQL, or a skip (a failure in CI)."""
    if not _postgres_answers():
        message = (
            "PostgreSQL does not answer on 127.0.0.1:5432: start it with "
            "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`"
        )
        if os.environ.get("CADUCEE_REQUIRE_POSTGRES"):
            pytest.fail(message)
        pytest.skip(message)
    yield POSTGRES_ADMIN_DSN


def create_postgres_database(admin_dsn: str) -> tuple[str, str]:
    """Create a throwaway database; return (its name, its SQLAlchemy async URL)."""
    import psycopg

    name = f"caducee_test_{secrets.token_hex(6)}"
    with psycopg.connect(admin_dsn, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    base = admin_dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return name, f"{base}/{name}"


def drop_postgres_database(admin_dsn: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_dsn, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database (no schema) on each engine."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'caducee.db'}"
        return
    admin = request.getfixturevalue("postgres_server")
    name, url = create_postgres_database(admin)
    try:
        yield url
    finally:
        drop_postgres_database(admin, name)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """A migrated database on each engine."""
    upgrade_database(database_url)
    db = Database(database_url)
    try:
        yield db
    finally:
        await db.close()


def free_port() -> int:
    """A free port for a test's listener (see :func:`free_port_block`)."""
    return free_port_block(1)


_HANDED_OUT: set[int] = set()


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_block(count: int) -> int:
    """The first of ``count`` consecutive free ports, below the kernel's ephemeral range.

    A block taken inside that range can lose one of its ports to any outgoing connection
    (an agent's push stream, a PostgreSQL client) between this check and the bind; below
    it, only listeners compete. A port is handed out once per test session.
    """
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    chooser = secrets.SystemRandom()
    for _ in range(200):
        first = chooser.randrange(20000, low - count)
        block = range(first, first + count)
        if not _HANDED_OUT.intersection(block) and all(map(_bindable, block)):
            _HANDED_OUT.update(block)  # two calls before either binds get different ports
            return first
    raise RuntimeError(f"no {count} consecutive free ports below {low}")


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[str]:
    """A real S3 protocol server (moto) on loopback; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
