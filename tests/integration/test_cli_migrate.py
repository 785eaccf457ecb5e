"""`openmailer migrate` as an operator runs it: a real process against a real database."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import asyncpg
import pytest

from openmailer.adapters.db.migrate import head_revision

pytestmark = pytest.mark.integration


def openmailer(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    return openmailer_with({}, *args, database_url=database_url)


def openmailer_with(
    extra_env: dict[str, str], *args: str, database_url: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENMAILER_")}
    env |= {"OPENMAILER_DATABASE_URL": database_url, **extra_env}
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


async def test_a_migration_waiting_on_a_held_table_lock_gives_up_unchanged_then_runs(
    empty_database_url: str,
) -> None:
    result = await asyncio.to_thread(
        openmailer, "migrate", "--to", "037", database_url=empty_database_url
    )
    assert result.returncode == 0, result.stderr
    # 038 adds a column to users: it needs the table to itself, which an open reader prevents
    holder = await asyncpg.connect(empty_database_url)
    try:
        reading = holder.transaction()
        await reading.start()
        await holder.fetch("SELECT id FROM users LIMIT 1")
        result = await asyncio.to_thread(
            openmailer_with,
            {"OPENMAILER_MIGRATION_LOCK_TIMEOUT": "1"},
            "migrate",
            database_url=empty_database_url,
        )
        assert result.returncode == 1, result.stderr
        assert "waited more than 1 s for a table lock" in result.stdout
        assert "OPENMAILER_MIGRATION_LOCK_TIMEOUT" in result.stdout
        assert result.stdout.strip().endswith("schema revision: 037")
        assert "Traceback" not in result.stderr
        await reading.rollback()
    finally:
        await holder.close()
    result = await asyncio.to_thread(openmailer, "migrate", database_url=empty_database_url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(f"037 -> {head_revision()}")  # 038 and any after it


def test_a_bad_lock_timeout_is_a_clear_error(empty_database_url: str) -> None:
    result = openmailer_with(
        {"OPENMAILER_MIGRATION_LOCK_TIMEOUT": "soon"}, "migrate", database_url=empty_database_url
    )
    assert result.returncode == 1
    assert "OPENMAILER_MIGRATION_LOCK_TIMEOUT: must be a number of seconds" in result.stdout
    assert table_names(empty_database_url) == set()
