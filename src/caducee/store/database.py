"""The metadata database: async SQLAlchemy on SQLite (embedded) or PostgreSQL (scale-out).

SQLite runs in WAL mode with a busy timeout and ``synchronous=FULL``: a commit is on disk
when it returns, which is what "accepted" promises.

``sync_engine`` is a blocking engine on the same database (pysqlite or psycopg, same
pragmas) for work that runs whole in one worker thread, such as the relay's group commit:
one hop to the thread per transaction instead of one event-loop turn per statement.

On SQLite the process's writing transactions take turns (:meth:`Database.writing`) instead
of meeting in SQLite's busy handler.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from caducee.store.errors import StoreUnavailable

__all__ = ["Database", "is_sqlite", "ping_when_idle"]

log = logging.getLogger(__name__)
SQLITE_BUSY_TIMEOUT_MS = 10_000
IDLE_PING_SECONDS = 2.0
WRITER_PATIENCE_SECONDS = 5.0
# Set while a task writes (Database.writing): a nested transaction of the same task, which
# SQLite would run on another connection, does not wait for its own turn.
_WRITING: ContextVar[bool] = ContextVar("caducee_sqlite_writing", default=False)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """Check a pooled connection at checkout only when it sat unused for ``idle_seconds``.

    ``pool_pre_ping`` costs a round trip at every checkout: for the group commit, one per
    batch, on its serial path. A connection returned moments ago is as alive as a ping would
    prove; one that sat idle (across a database restart, say) is pinged, and replaced if the
    ping fails, as ``pool_pre_ping`` would.
    """

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _check(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < idle_seconds:
            return
        dialect = engine.dialect
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_connection, None):
                raise DisconnectionError("the pooled connection is gone") from error  # replaced
            raise


class Database:
    """An engine and its session factory; one per process."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        kwargs: dict[str, Any] = {"echo": echo}
        if not is_sqlite(url):
            kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if is_sqlite(url):
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._sync_engine: Engine | None = None
        self._writers: WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            WeakKeyDictionary()
        )

    @property
    def sync_engine(self) -> Engine:
        """A blocking engine on the same database (created on first use, a small pool)."""
        if self._sync_engine is None:
            url = self.engine.url
            if is_sqlite(self.url):
                url = url.set(drivername="sqlite+pysqlite")
            engine = create_engine(url, pool_size=2, max_overflow=2)
            if is_sqlite(self.url):
                event.listen(engine, "connect", _sqlite_pragmas)
            else:
                ping_when_idle(engine, IDLE_PING_SECONDS)
            self._sync_engine = engine
        return self._sync_engine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction: committed on success, rolled back on error."""
        async with self.writing(), self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[None]:
        """On SQLite, one writing transaction of this process at a time, in arrival order.

        SQLite has one writer. A connection that finds the write lock taken waits in SQLite's
        busy handler, which sleeps in steps growing to 100 ms whatever the holder does: under
        ``bench/bench_e2e_latency.py`` group commits of three messages took 57 ms on average
        (1.7 s at worst) and acknowledgements 404 ms, where each needs a few. Queued here, the
        next writer starts as the previous one commits. :meth:`transaction` and the group
        commits (:mod:`caducee.store.group_commit`) take their turn; PostgreSQL locks rows,
        not the database, so nothing queues there. A writer that waited
        ``WRITER_PATIENCE_SECONDS`` goes on without its turn (SQLite's busy timeout still
        orders it): a pattern this queue did not foresee costs a delay, never a deadlock.
        """
        if not is_sqlite(self.url) or _WRITING.get():
            yield
            return
        turn = self._writers.setdefault(asyncio.get_running_loop(), asyncio.Lock())
        try:
            await asyncio.wait_for(turn.acquire(), WRITER_PATIENCE_SECONDS)
            held = True
        except TimeoutError:
            log.warning("a write waited %.0f s for its turn: it goes on", WRITER_PATIENCE_SECONDS)
            held = False
        marked = _WRITING.set(True)
        try:
            yield
        finally:
            _WRITING.reset(marked)
            if held:
                turn.release()

    async def ping(self) -> None:
        """Raise ``StoreUnavailable`` unless the database answers a trivial query."""
        try:
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except (OperationalError, OSError) as exc:
            raise StoreUnavailable(f"the database at {self.safe_url} does not answer") from exc

    @property
    def safe_url(self) -> str:
        """The URL without its password, for logs and messages."""
        return self.engine.url.render_as_string(hide_password=True)

    async def close(self) -> None:
        if self._sync_engine is not None:
            self._sync_engine.dispose()
        await self.engine.dispose()
