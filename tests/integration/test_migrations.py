"""Migrations: up, down and up again; intermediate revisions; and no drift from the metadata."""

from __future__ import annotations

import re
from typing import Any

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import CheckConstraint, Connection, Index, MetaData

from openmailer.adapters.db import migrate
from openmailer.adapters.db.engine import create_engine
from openmailer.adapters.db.tables import metadata

pytestmark = pytest.mark.integration

REVISIONS = [f"{number:03d}" for number in range(1, 41)]
HEAD = REVISIONS[-1]
TABLES_AT = {
    "003": {"users", "email_templates", "email_campaigns"},
    "010": {
        "users",
        "email_templates",
        "email_campaigns",
        "domains",
        "email_providers",
        "contact_lists",
        "contacts",
    },
}


async def fetch(url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def execute(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def public_relations(url: str) -> dict[str, str]:
    """Every table, sequence, index and view in the public schema: name -> relkind."""
    rows = await fetch(
        url,
        "SELECT c.relname, c.relkind::text FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'",
    )
    return {row["relname"]: row["relkind"] for row in rows}


async def tables(url: str) -> set[str]:
    relations = await public_relations(url)
    return {name for name, kind in relations.items() if kind == "r"} - {"alembic_version"}


async def campaign_foreign_keys(url: str) -> set[str]:
    rows = await fetch(
        url,
        "SELECT conname FROM pg_constraint"
        " WHERE conrelid = 'email_campaigns'::regclass AND contype = 'f'",
    )
    return {row["conname"] for row in rows}


async def test_upgrade_downgrade_to_base_and_upgrade_again(empty_database_url: str) -> None:
    assert migrate.current_revision(empty_database_url) is None

    await migrate.upgrade_async(empty_database_url)
    assert migrate.current_revision(empty_database_url) == HEAD
    assert len(await tables(empty_database_url)) == 32

    await migrate.downgrade_async(empty_database_url, "base")
    assert migrate.current_revision(empty_database_url) is None
    assert await public_relations(empty_database_url) == {
        "alembic_version": "r",
        "alembic_version_pkc": "i",
    }

    await migrate.upgrade_async(empty_database_url)
    assert await migrate.current_revision_async(empty_database_url) == HEAD
    assert len(await tables(empty_database_url)) == 32


async def test_every_migration_steps_down_and_up_again(empty_database_url: str) -> None:
    await migrate.upgrade_async(empty_database_url)
    for revision, previous in zip(
        reversed(REVISIONS), [*reversed(REVISIONS[:-1]), None], strict=True
    ):
        assert await migrate.current_revision_async(empty_database_url) == revision
        await migrate.downgrade_async(empty_database_url, "-1")
        assert await migrate.current_revision_async(empty_database_url) == previous
    assert await tables(empty_database_url) == set()

    for revision in REVISIONS:
        await migrate.upgrade_async(empty_database_url, "+1")
        assert await migrate.current_revision_async(empty_database_url) == revision


async def test_campaign_foreign_keys_arrive_with_their_tables(empty_database_url: str) -> None:
    await migrate.upgrade_async(empty_database_url, "006")
    assert await campaign_foreign_keys(empty_database_url) == {
        "email_campaigns_template_id_fkey",
        "email_campaigns_created_by_fkey",
    }

    await migrate.upgrade_async(empty_database_url, "010")
    assert await tables(empty_database_url) == TABLES_AT["010"]
    assert await campaign_foreign_keys(empty_database_url) == {
        "email_campaigns_template_id_fkey",
        "email_campaigns_created_by_fkey",
        "email_campaigns_domain_id_fkey",
        "email_campaigns_provider_id_fkey",
        "email_campaigns_list_id_fkey",
    }

    await migrate.upgrade_async(empty_database_url, "012")
    assert "email_campaigns_segment_id_fkey" in await campaign_foreign_keys(empty_database_url)

    await migrate.downgrade_async(empty_database_url, "003")
    assert await tables(empty_database_url) == TABLES_AT["003"]
    assert await campaign_foreign_keys(empty_database_url) == {
        "email_campaigns_template_id_fkey",
        "email_campaigns_created_by_fkey",
    }


async def test_current_revision_async_accepts_an_engine(migrated_database_url: str) -> None:
    engine = create_engine(migrated_database_url)
    try:
        assert await migrate.current_revision_async(engine) == HEAD
    finally:
        await engine.dispose()


def _autogenerate_diff(connection: Connection, target: MetaData) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return list(compare_metadata(context, target))


async def autogenerate_diff(url: str) -> list[Any]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_autogenerate_diff, metadata)
    finally:
        await engine.dispose()


async def test_autogenerate_finds_no_difference(migrated_database_url: str) -> None:
    assert await autogenerate_diff(migrated_database_url) == []


async def test_autogenerate_comparison_sees_drift(empty_database_url: str) -> None:
    """Guards the test above against comparing nothing: each kind of drift it covers shows up."""
    await migrate.upgrade_async(empty_database_url)
    await execute(
        empty_database_url,
        "ALTER TABLE users ALTER COLUMN monthly_email_limit SET DEFAULT 500;"
        " ALTER TABLE contacts ALTER COLUMN source TYPE varchar(120);"
        " ALTER TABLE segments ALTER COLUMN description SET NOT NULL;"
        " DROP INDEX idx_campaign_clicks_timestamp;"
        " ALTER TABLE domains DROP CONSTRAINT idx_domains_user_id_unique;"
        " ALTER TABLE email_campaigns DROP CONSTRAINT email_campaigns_list_id_fkey;"
        " ALTER TABLE email_campaigns ADD CONSTRAINT email_campaigns_list_id_fkey"
        "   FOREIGN KEY (list_id) REFERENCES contact_lists(id) ON DELETE CASCADE;",
    )

    kinds = {_kind(change) for change in await autogenerate_diff(empty_database_url)}

    assert kinds == {
        "modify_default",
        "modify_type",
        "modify_nullable",
        "add_index",
        "add_constraint",
        "remove_fk",
        "add_fk",
    }


def _kind(change: Any) -> str:
    # Column changes come as a list of tuples, the others as one tuple.
    return str(change[0][0] if isinstance(change, list) else change[0])


async def test_what_autogenerate_does_not_compare_matches_too(migrated_database_url: str) -> None:
    """Autogenerate ignores CHECK constraints, index methods (gin) and partial-index predicates.

    Those are compared here between the metadata and the catalog: constraint names with their
    quoted values, and each index's access method and predicate.
    """
    checks = await fetch(
        migrated_database_url,
        "SELECT conname, pg_get_constraintdef(oid) AS definition FROM pg_constraint"
        " WHERE contype = 'c' AND connamespace = 'public'::regnamespace",
    )
    indexes = await fetch(
        migrated_database_url,
        "SELECT ic.relname AS name, am.amname AS method,"
        " pg_get_expr(i.indpred, i.indrelid) AS predicate"
        " FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid"
        " JOIN pg_am am ON am.oid = ic.relam"
        " WHERE ic.relnamespace = 'public'::regnamespace AND NOT i.indisprimary",
    )
    live_indexes = {row["name"]: (row["method"], row["predicate"]) for row in indexes}

    assert {row["conname"]: _quoted(row["definition"]) for row in checks} == {
        str(check.name): _quoted(str(check.sqltext))
        for table in metadata.tables.values()
        for check in table.constraints
        if isinstance(check, CheckConstraint)
    }
    for index in (index for table in metadata.tables.values() for index in table.indexes):
        assert live_indexes[str(index.name)] == _method_and_predicate(index), index.name


def _quoted(sql: str) -> frozenset[str]:
    return frozenset(re.findall(r"'([^']*)'", sql))


def _method_and_predicate(index: Index) -> tuple[str, str | None]:
    options = index.dialect_options["postgresql"]
    where = options["where"]
    # PostgreSQL spells the predicate its own way: parenthesized, booleans in lower case.
    predicate = None if where is None else f"({str(where).replace('TRUE', 'true')})"
    return options["using"] or "btree", predicate


async def test_usernames_differing_only_in_case_stop_the_upgrade_until_renamed(
    empty_database_url: str,
) -> None:
    await migrate.upgrade_async(empty_database_url, "020")
    await execute(
        empty_database_url,
        "INSERT INTO users (username, email, password) VALUES"
        " ('caseuser', 'a@example.com', 'x'), ('CaseUser', 'b@example.com', 'x')",
    )
    with pytest.raises(RuntimeError, match="caseuser, CaseUser"):
        await migrate.upgrade_async(empty_database_url)
    assert await migrate.current_revision_async(empty_database_url) == "020"

    await execute(empty_database_url, "UPDATE users SET username = 'caseuser2' WHERE id = 2")
    await migrate.upgrade_async(empty_database_url)
    with pytest.raises(asyncpg.UniqueViolationError):
        await execute(
            empty_database_url,
            "INSERT INTO users (username, email, password) VALUES ('CASEUSER', 'c@x.com', 'x')",
        )
