"""The constraints behave as declared: tenancy erase cascades, checks and unique indexes bite.

Check and unique tests run in a transaction that is rolled back, so the shared migrated database
stays empty. The ON DELETE tests commit their rows first, in a database of this module's own:
PostgreSQL re-checks every foreign key of a row updated by the transaction that inserted it, so
a SET NULL cascade onto a campaign created in the same transaction can trip over a sibling
reference that another cascade of the same DELETE has not nulled yet. Applications create and
delete in separate transactions; so do these tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager

import asyncpg
import pytest

from openmailer.adapters.db import migrate

pytestmark = pytest.mark.integration

OWNED_TABLES = (
    "email_templates",
    "email_campaigns",
    "domains",
    "email_providers",
    "contact_lists",
    "contacts",
    "contact_list_memberships",
    "segments",
    "campaign_recipients",
    "campaign_links",
    "campaign_clicks",
    "api_keys",
    "rate_limits",
    "email_logs",
    "webhook_events",
)


@pytest.fixture
async def db(migrated_database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(migrated_database_url)
    transaction = conn.transaction()
    await transaction.start()
    try:
        yield conn
    finally:
        await transaction.rollback()
        await conn.close()


@pytest.fixture(scope="module")
def committed_database_url(
    temporary_databases: Callable[[str], AbstractContextManager[str]],
) -> Iterator[str]:
    with temporary_databases("constraints") as url:
        migrate.upgrade(url)
        yield url


@pytest.fixture
async def committed(committed_database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection in autocommit mode: every statement is its own transaction."""
    conn = await asyncpg.connect(committed_database_url)
    try:
        yield conn
    finally:
        await conn.close()


async def insert(db: asyncpg.Connection, table: str, **values: object) -> int:
    columns = ", ".join(values)
    placeholders = ", ".join(f"${i}" for i in range(1, len(values) + 1))
    sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) RETURNING id"
    return int(await db.fetchval(sql, *values.values()))


async def a_user(db: asyncpg.Connection, name: str) -> int:
    return await insert(db, "users", username=name, email=f"{name}@example.com", password="x")


async def a_tenancy(db: asyncpg.Connection, name: str) -> dict[str, int]:
    """One row in every table a user owns, all wired together as the application would."""
    ids = {"user": await a_user(db, name)}
    user = ids["user"]
    ids["template"] = await insert(
        db, "email_templates", name=f"{name}-welcome", subject="Hi", body="Hello", created_by=user
    )
    ids["domain"] = await insert(db, "domains", user_id=user, domain_name=f"{name}.example.com")
    ids["provider"] = await insert(
        db,
        "email_providers",
        user_id=user,
        domain_id=ids["domain"],
        provider_type="SMTP",
        provider_name="relay",
        configuration="encrypted",
    )
    ids["list"] = await insert(db, "contact_lists", user_id=user, name="newsletter")
    ids["contact"] = await insert(db, "contacts", user_id=user, email="reader@example.org")
    await insert(db, "contact_list_memberships", contact_id=ids["contact"], list_id=ids["list"])
    ids["segment"] = await insert(
        db, "segments", user_id=user, list_id=ids["list"], name="all", conditions="{}"
    )
    ids["campaign"] = await insert(
        db,
        "email_campaigns",
        name="launch",
        template_id=ids["template"],
        created_by=user,
        domain_id=ids["domain"],
        provider_id=ids["provider"],
        list_id=ids["list"],
        segment_id=ids["segment"],
    )
    recipient = await insert(
        db, "campaign_recipients", campaign_id=ids["campaign"], contact_id=ids["contact"]
    )
    link = await insert(
        db,
        "campaign_links",
        campaign_id=ids["campaign"],
        original_url="https://x",
        short_code=name,
        link_index=0,
    )
    await insert(
        db, "campaign_clicks", campaign_id=ids["campaign"], recipient_id=recipient, link_id=link
    )
    await insert(db, "api_keys", user_id=user, key_name="ci", api_key=name, key_prefix="om_test_")
    await db.execute(
        "INSERT INTO rate_limits (user_id, resource_type, window_start, window_end, limit_value)"
        " VALUES ($1, 'API_REQUEST', now(), now() + interval '1 minute', 100)",
        user,
    )
    await insert(
        db,
        "email_logs",
        user_id=user,
        campaign_id=ids["campaign"],
        recipient_id=recipient,
        provider_id=ids["provider"],
        email_type="CAMPAIGN",
        recipient_email="reader@example.org",
        status="SENT",
    )
    await insert(
        db,
        "webhook_events",
        user_id=user,
        provider_id=ids["provider"],
        event_type="DELIVERED",
        payload="{}",
    )
    return ids


async def rows_per_table(db: asyncpg.Connection) -> dict[str, int]:
    return {table: await db.fetchval(f"SELECT count(*) FROM {table}") for table in OWNED_TABLES}


async def test_deleting_a_user_erases_everything_the_user_owns(
    committed: asyncpg.Connection,
) -> None:
    erased = await a_tenancy(committed, "erased")
    await a_tenancy(committed, "kept")
    before = await rows_per_table(committed)

    await committed.execute("DELETE FROM users WHERE id = $1", erased["user"])

    assert await rows_per_table(committed) == {table: n - 1 for table, n in before.items()}
    assert await committed.fetchval("SELECT count(*) FROM users WHERE username = 'kept'") == 1


async def test_a_campaign_outlives_its_domain_provider_list_and_segment(
    committed: asyncpg.Connection,
) -> None:
    ids = await a_tenancy(committed, "owner")

    await committed.execute("DELETE FROM email_providers WHERE id = $1", ids["provider"])
    await committed.execute("DELETE FROM domains WHERE id = $1", ids["domain"])
    await committed.execute("DELETE FROM contact_lists WHERE id = $1", ids["list"])

    campaign = await committed.fetchrow(
        "SELECT domain_id, provider_id, list_id, segment_id FROM email_campaigns WHERE id = $1",
        ids["campaign"],
    )
    assert dict(campaign) == dict.fromkeys(("domain_id", "provider_id", "list_id", "segment_id"))


async def test_a_template_in_use_cannot_be_deleted(db: asyncpg.Connection) -> None:
    ids = await a_tenancy(db, "owner")

    with pytest.raises(asyncpg.ForeignKeyViolationError):
        async with db.transaction():
            await db.execute("DELETE FROM email_templates WHERE id = $1", ids["template"])


async def test_one_default_provider_per_user(db: asyncpg.Connection) -> None:
    user = await a_user(db, "owner")
    provider = {"user_id": user, "provider_type": "SMTP", "configuration": "encrypted"}
    await insert(db, "email_providers", provider_name="a", is_default=True, **provider)
    await insert(db, "email_providers", provider_name="b", is_default=False, **provider)
    await insert(db, "email_providers", provider_name="c", is_default=False, **provider)

    with pytest.raises(asyncpg.UniqueViolationError, match="idx_user_default_provider"):
        async with db.transaction():
            await insert(db, "email_providers", provider_name="d", is_default=True, **provider)


@pytest.mark.parametrize(
    ("statement", "constraint"),
    [
        ("UPDATE users SET role = 'ROOT'", "ck_users_role"),
        ("UPDATE users SET subscription_plan = 'GOLD'", "ck_users_subscription_plan"),
        ("UPDATE contacts SET bounce_type = 'MEDIUM'", "ck_contacts_bounce_type"),
        ("UPDATE api_keys SET scopes = ARRAY['read:contacts', 'root']", "ck_api_keys_scopes"),
        ("UPDATE email_campaigns SET status = 'DONE'", "ck_email_campaigns_status"),
    ],
)
async def test_checks_reject_values_outside_the_enums(
    db: asyncpg.Connection, statement: str, constraint: str
) -> None:
    await a_tenancy(db, "owner")

    with pytest.raises(asyncpg.CheckViolationError, match=constraint):
        async with db.transaction():
            await db.execute(statement)


async def test_checks_accept_null_and_every_listed_value(db: asyncpg.Connection) -> None:
    await a_tenancy(db, "owner")

    await db.execute("UPDATE users SET subscription_plan = NULL")
    await db.execute("UPDATE contacts SET bounce_type = 'HARD', source = 'CSV_IMPORT'")
    await db.execute("UPDATE api_keys SET scopes = ARRAY['read:contacts', 'send:campaigns']")
    await db.execute("UPDATE api_keys SET scopes = '{}'")
