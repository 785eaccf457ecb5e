"""`openmailer migrate` as an operator runs it: a real process against a real database."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import asyncpg
import pytest

pytestmark = pytest.mark.integration


def openmailer(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENMAILER_")}
    env["OPENMAILER_DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "openmailer.adapters.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def table_names(database_url: str) -> set[str]:
    async def read() -> set[str]:
        conn = await asyncpg.connect(database_url)
        try:
            rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            return {row["tablename"] for row in rows}
        finally:
            await conn.close()

    return asyncio.run(read())


def test_migrate_up_to_a_revision_down_and_to_base(empty_database_url: str) -> None:
    result = openmailer("migrate", database_url=empty_database_url)
    assert result.returncode == 0, result.stderr
    assert "base ->" in result.stdout
    assert len(table_names(empty_database_url) - {"alembic_version"}) == 32

    result = openmailer("migrate", "--to", "010", database_url=empty_database_url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("-> 010")
    tables = table_names(empty_database_url)
    assert "contacts" in tables and "campaign_recipients" not in tables

    result = openmailer("migrate", "--to", "base", database_url=empty_database_url)
    assert result.returncode == 0, result.stderr
    assert table_names(empty_database_url) <= {"alembic_version"}


def test_an_unknown_revision_is_a_clear_error(empty_database_url: str) -> None:
    result = openmailer("migrate", "--to", "999", database_url=empty_database_url)
    assert result.returncode == 2
    assert "999" in result.stdout
    assert table_names(empty_database_url) == set()


def test_a_missing_database_url_is_a_clear_error() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENMAILER_")}
    result = subprocess.run(
        [sys.executable, "-m", "openmailer.adapters.cli", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd="/",
    )
    assert result.returncode == 2
    assert "OPENMAILER_DATABASE_URL must be set" in result.stderr
