"""Alembic environment: a synchronous connection, batch mode so ALTERs work on SQLite."""

from alembic import context
from sqlalchemy import engine_from_config, pool

# Register every domain's tables on Base.metadata (autogenerate compares against them).
import caducee.directory.content_policy
import caducee.directory.models
import caducee.evidence.models
import caducee.gateway.models
import caducee.gateway.passwords
import caducee.instant.models
import caducee.policy.models
import caducee.prescriptions.models
import caducee.relay.models
import caducee.stats.models  # noqa: F401
from caducee.store.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
