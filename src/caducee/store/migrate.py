"""Schema migrations (Alembic), run the same way on SQLite and PostgreSQL.

Migrations run on a synchronous engine (pysqlite or psycopg), so they can be called before
the event loop starts, or from it through ``asyncio.to_thread``.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from alembic import command
from alembic.config import Config

__all__ = ["alembic_config", "downgrade_database", "sync_url", "upgrade_database"]

MIGRATIONS = Path(__file__).parent / "migrations"


def sync_url(url: str) -> str:
    """The synchronous driver's URL for an async one (aiosqlite → pysqlite)."""
    return url.replace("sqlite+aiosqlite://", "sqlite://", 1)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", sync_url(url).replace("%", "%%"))
    return config


def upgrade_database(url: str, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (default: the newest)."""
    if url.startswith("sqlite"):
        _ensure_sqlite_folder(url)
    command.upgrade(alembic_config(url), revision)


def downgrade_database(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def _ensure_sqlite_folder(url: str) -> None:
    """The database's folder, and a new database file readable by its owner only (SQLite
    gives its -wal and -shm files the database file's mode): it holds who wrote to whom."""
    path = url.split(":///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with contextlib.suppress(FileExistsError):  # an existing one keeps its mode
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
