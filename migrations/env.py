"""Alembic environment: async (asyncpg) and NullPool, one transaction per migration.

The database URL comes, in order, from `Config.attributes["database_url"]` (set by
`openmailer.adapters.db.migrate`), `alembic -x url=...`, the `sqlalchemy.url` option of an ini
file, or the `OPENMAILER_DATABASE_URL` environment variable.
"""

from __future__ import annotations

import asyncio
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection
from sqlalchemy.pool import NullPool

from openmailer.adapters.db.engine import create_engine, to_async_url
from openmailer.adapters.db.tables import metadata

config = context.config
if config.config_file_name is not None and config.get_section("loggers") is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def database_url() -> str:
    url = (
        config.attributes.get("database_url")
        or context.get_x_argument(as_dictionary=True).get("url")
        or config.get_main_option("sqlalchemy.url")
        or os.environ.get("OPENMAILER_DATABASE_URL")
    )
    if not url:
        raise RuntimeError(
            "no database URL: set OPENMAILER_DATABASE_URL or pass `alembic -x url=postgresql://...`"
        )
    return str(url)


def run_migrations_offline() -> None:
    """Emit the SQL instead of running it (`alembic upgrade head --sql`)."""
    context.configure(
        url=to_async_url(database_url()),
        target_metadata=metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_migrations(connection: Connection) -> None:
    lock_timeout_ms = config.attributes.get("lock_timeout_ms")
    if lock_timeout_ms:  # set by openmailer.adapters.db.migrate (plain alembic waits as long)
        connection.exec_driver_sql(f"SET lock_timeout = {int(lock_timeout_ms)}")
        connection.commit()  # a session setting: it outlives this transaction
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        compare_server_default=True,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_migrations_online() -> None:
    engine = create_engine(database_url(), poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_migrations)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
