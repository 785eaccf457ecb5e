"""Real PostgreSQL and Redis for integration tests: the machine's when reachable, else embedded.

Each test run creates its own database and drops it at the end.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import socket
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from functools import partial
from pathlib import Path

import pytest
import redis

from openmailer.adapters import embedded
from openmailer.adapters.db.engine import asyncpg_dsn

LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
LOCAL_REDIS = "redis://127.0.0.1:6379"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _force_embedded() -> bool:
    return os.environ.get("OPENMAILER_TEST_EMBEDDED") == "1"


@pytest.fixture(scope="session")
def services_dir() -> Iterator[Path]:
    # Short path: Unix socket paths are limited to 107 bytes.
    path = Path("/tmp") / f"om-test-{os.getpid()}"
    path.mkdir(exist_ok=True)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server_url(services_dir: Path) -> Iterator[str]:
    """URL of a PostgreSQL server's maintenance database (`postgres`)."""
    if not _force_embedded() and _reachable("127.0.0.1", 5432):
        yield LOCAL_POSTGRES
        return
    server = embedded.start_postgres(services_dir, database="postgres")
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_url(services_dir: Path) -> Iterator[str]:
    if not _force_embedded() and _reachable("127.0.0.1", 6379):
        # A database index of our own keeps concurrent runs on one server apart (claimed in
        # database 0, so two runs never pick the same one); like the PostgreSQL database, it is
        # emptied when the run ends.
        index, claims = _claim_redis_database()
        url = f"{LOCAL_REDIS}/{index}"
        yield url
        client = redis.Redis.from_url(url)
        client.flushdb()
        client.close()
        claims.delete(_REDIS_CLAIM.format(index))
        claims.close()
        return
    server = embedded.start_redis(services_dir)
    try:
        yield server.url
    finally:
        server.stop()


_REDIS_CLAIM = "openmailer:test-run-database:{}"


def _claim_redis_database() -> tuple[int, redis.Redis]:
    """A database index 1-15 no other running test run holds (a claim expires after six hours, so
    a killed run frees its index)."""
    claims = redis.Redis.from_url(f"{LOCAL_REDIS}/0")
    for index in range(1, 16):
        if claims.set(_REDIS_CLAIM.format(index), os.getpid(), nx=True, ex=6 * 3600):
            return index, claims
    claims.close()
    raise RuntimeError("every Redis database 1-15 is held by another test run")


def with_database(server_url: str, name: str) -> str:
    base, _, query = server_url.partition("?")
    base = base.rsplit("/", 1)[0]
    return f"{base}/{name}" + (f"?{query}" if query else "")


def create_database(server_url: str, name: str) -> str:
    """Create database `name` on the server of `server_url`; return its URL."""
    _admin(server_url, f'CREATE DATABASE "{name}"')
    return with_database(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def temporary_database(server_url: str, purpose: str = "test") -> Iterator[str]:
    """A new empty database, dropped on exit; the name says which run and purpose made it."""
    name = f"openmailer_{purpose}_{os.getpid()}_{secrets.token_hex(3)}"
    url = create_database(server_url, name)
    try:
        yield url
    finally:
        drop_database(server_url, name)


@pytest.fixture(scope="session")
def temporary_databases(postgres_server_url: str) -> Callable[[str], AbstractContextManager[str]]:
    """`with temporary_databases("purpose") as url:` a new empty database, dropped on exit.

    For tests that need databases of their own (the conftest modules cannot import each other).
    """
    return partial(temporary_database, postgres_server_url)


@pytest.fixture(scope="session")
def database_url(postgres_server_url: str) -> Iterator[str]:
    """An empty database of this test run's own, dropped at the end."""
    with temporary_database(postgres_server_url) as url:
        yield url


@pytest.fixture(scope="session")
def migrated_database_url(database_url: str) -> str:
    """`database_url` with every migration applied (the schema at alembic head)."""
    from openmailer.adapters.db import migrate

    migrate.upgrade(database_url, "head")
    return database_url


def _admin(server_url: str, statement: str) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(asyncpg_dsn(server_url))
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    # A thread of its own: asyncio.run must not touch the event loop pytest-asyncio runs tests on.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, run()).result()
