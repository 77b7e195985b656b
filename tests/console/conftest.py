"""The server fixtures (a migrated server on SQLite and PostgreSQL, a moved clock)."""

from tests.server.conftest import (  # noqa: F401 (fixtures)
    migrated_database,
    migrated_url,
    postgres_migrated,
    sqlite_template,
    world,
)
