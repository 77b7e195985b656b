"""Directory tests use a database migrated once per session (see tests/server/conftest.py)."""

from tests.server.conftest import (
    migrated_database,
    migrated_url,
    postgres_migrated,
    sqlite_template,
)

__all__ = ["migrated_database", "migrated_url", "postgres_migrated", "sqlite_template"]
