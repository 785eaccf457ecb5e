"""The retention jobs act on every user's rows: their tests get a database of their own, emptied
before each test, so other tests' rows are neither aged nor counted."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from openmailer.adapters.db import migrate
from openmailer.adapters.db.engine import create_engine


@pytest.fixture(scope="session")
def retention_database_url(
    temporary_databases: Callable[[str], AbstractContextManager[str]],
) -> Iterator[str]:
    with temporary_databases("retention") as url:
        migrate.upgrade(url, "head")
        yield url


@pytest.fixture
async def engine(retention_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(retention_database_url)
    async with engine.begin() as conn:
        await conn.execute(
            text("TRUNCATE users, retention_runs, erased_contacts RESTART IDENTITY CASCADE")
        )
    yield engine
    await engine.dispose()
