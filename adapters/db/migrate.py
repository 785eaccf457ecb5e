"""Run the alembic migrations from code: the `openmailer migrate` CLI, start-up and tests use this.

The alembic `Config` is built here, pointing at the installed `openmailer.migrations` package, so
no `alembic.ini` in the working directory is needed. The database URL travels to `env.py` in
`Config.attributes`, never through the ini parser (which would read `%` in passwords as
interpolation).

Alembic's `env.py` drives an async engine with `asyncio.run`, which cannot nest inside a running
event loop; the synchronous functions therefore run alembic in a worker thread of their own and
are safe to call from anywhere (a plain script, a CLI, or code under a running loop). Async
callers should prefer the `*_async` variants, which do not block their loop.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import NullPool

import openmailer.migrations
from openmailer.adapters.db.engine import create_engine
from openmailer.adapters.settings import parse_seconds

DATABASE_URL_ATTRIBUTE = "database_url"
LOCK_TIMEOUT_ATTRIBUTE = "lock_timeout_ms"
LOCK_TIMEOUT_ENV = "OPENMAILER_MIGRATION_LOCK_TIMEOUT"
# A migration queued for a table's lock behind a long transaction makes every query of that
# table queue behind it: better to give up, unchanged, and be run again.
DEFAULT_LOCK_TIMEOUT_SECONDS = 30.0
LOCK_NOT_AVAILABLE = "55P03"
MIGRATIONS_DIR = Path(openmailer.migrations.__file__).resolve().parent

_T = TypeVar("_T")


def alembic_config(database_url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if database_url is not None:
        config.attributes[DATABASE_URL_ATTRIBUTE] = database_url
        config.attributes[LOCK_TIMEOUT_ATTRIBUTE] = int(lock_timeout_seconds() * 1000)
    return config


def lock_timeout_seconds() -> float:
    raw = os.environ.get(LOCK_TIMEOUT_ENV)
    if not raw:
        return DEFAULT_LOCK_TIMEOUT_SECONDS
    try:
        return parse_seconds(raw)
    except ValueError as error:
        raise MigrationError(f"{LOCK_TIMEOUT_ENV}: {error}") from None


class MigrationError(RuntimeError):
    """A migration that could not run; the schema is left at the last revision it reached."""


def head_revision() -> str:
    """The newest revision the installed code knows (what `upgrade()` moves to)."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


def upgrade(database_url: str, revision: str = "head") -> None:
    config = alembic_config(database_url)
    _in_own_thread(lambda: _explaining_lock_waits(lambda: command.upgrade(config, revision)))


def downgrade(database_url: str, revision: str) -> None:
    """Downgrade to `revision`; "base" removes every table (only `alembic_version` remains)."""
    config = alembic_config(database_url)
    _in_own_thread(lambda: _explaining_lock_waits(lambda: command.downgrade(config, revision)))


def current_revision(database_url: str) -> str | None:
    """The database's revision, or None for a database never migrated (or downgraded to base)."""
    return _in_own_thread(lambda: asyncio.run(current_revision_async(database_url)))


async def upgrade_async(database_url: str, revision: str = "head") -> None:
    await asyncio.to_thread(upgrade, database_url, revision)


async def downgrade_async(database_url: str, revision: str) -> None:
    await asyncio.to_thread(downgrade, database_url, revision)


async def current_revision_async(engine_or_url: AsyncEngine | str) -> str | None:
    """The database's revision without blocking the loop (the /health endpoint uses this)."""
    if isinstance(engine_or_url, AsyncEngine):
        return await _read_revision(engine_or_url)
    engine = create_engine(engine_or_url, poolclass=NullPool)
    try:
        return await _read_revision(engine)
    finally:
        await engine.dispose()


async def _read_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.run_sync(_revision_of)


def _revision_of(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _explaining_lock_waits(work: Callable[[], None]) -> None:
    try:
        work()
    except DBAPIError as error:
        if getattr(error.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise
        raise MigrationError(
            f"a migration waited more than {lock_timeout_seconds():g} s for a table lock that"
            " another session holds (a long transaction, or one left idle); the schema stays at"
            " the last revision applied. Run it again when that session has ended, or allow a"
            f" longer wait with {LOCK_TIMEOUT_ENV}=SECONDS"
        ) from error


def _in_own_thread(work: Callable[[], _T]) -> _T:
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="openmailer-migrate") as pool:
        return pool.submit(work).result()
