"""The migrations build exactly the tables the models describe, on both engines."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

import caducee.directory.models
import caducee.evidence.models
import caducee.gateway.passwords
import caducee.relay.models  # noqa: F401 (every domain's tables on Base.metadata)
from caducee.store.migrate import sync_url, upgrade_database
from caducee.store.models import Base


def test_no_drift_between_models_and_migrations(database_url: str) -> None:
    upgrade_database(database_url)
    engine = create_engine(sync_url(database_url))
    try:
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    assert differences == []
