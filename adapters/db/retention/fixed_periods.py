"""The daily jobs with the spec's fixed periods: unconfirmed contacts, email logs, processed
provider events, expired API keys, and the anonymised erasure audit (7 years).

Ages are counted from the rows' own times against `RetentionRun.now` (naive UTC, as the
columns): nothing here reads the wall clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import cast

from sqlalchemy import Table, any_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openmailer.adapters.db.contact_erasure import EMAIL_LOGS, TOMBSTONES, WEBHOOK_EVENTS
from openmailer.adapters.db.list_counts import CONTACTS, id_array, lists_of, recount
from openmailer.adapters.db.retention.batches import BatchAction, in_batches
from openmailer.adapters.db.tables.users import ApiKey
from openmailer.core.retention.model import RetentionRun
from openmailer.core.retention.policy import (
    EMAIL_LOG_DAYS,
    ERASURE_AUDIT_DAYS,
    PENDING_CONTACT_DAYS,
    PROCESSED_WEBHOOK_DAYS,
    cutoff,
)

API_KEYS = cast(Table, ApiKey.__table__)


async def delete_ids(conn: AsyncConnection, table: Table, ids: Sequence[int]) -> int:
    result = await conn.execute(delete(table).where(table.c.id == any_(id_array(ids))))
    return int(result.rowcount)


def deleting(table: Table) -> BatchAction:
    async def act(conn: AsyncConnection, ids: Sequence[int]) -> int:
        return await delete_ids(conn, table, ids)

    return act


async def purge_pending_contacts(engine: AsyncEngine, run: RetentionRun) -> Mapping[str, int]:
    """Contacts still PENDING (never confirmed) 30 days after they were added, and after the
    last confirmation mail was sent (a contact sent one yesterday gets its 30 days to click).
    Their memberships go with them (ON DELETE CASCADE); their lists are recounted in the
    batch's transaction, as every deletion of a contact does (`list_counts`)."""
    old = cutoff(run.now, PENDING_CONTACT_DAYS)
    candidates = select(CONTACTS.c.id).where(
        CONTACTS.c.status == "PENDING",
        CONTACTS.c.created_at < old,
        or_(CONTACTS.c.confirmation_sent_at.is_(None), CONTACTS.c.confirmation_sent_at < old),
    )

    async def act(conn: AsyncConnection, ids: Sequence[int]) -> int:
        # The contacts are locked (the batch's FOR UPDATE) before their lists are read: no
        # membership can be added to them meanwhile, as in the repository's delete.
        lists = await lists_of(conn, ids)
        deleted = await delete_ids(conn, CONTACTS, ids)
        await recount(conn, lists)
        return deleted

    return {"contacts": await in_batches(engine, run, CONTACTS, candidates, act)}


async def purge_email_logs(engine: AsyncEngine, run: RetentionRun) -> Mapping[str, int]:
    old = cutoff(run.now, EMAIL_LOG_DAYS)
    candidates = select(EMAIL_LOGS.c.id).where(EMAIL_LOGS.c.created_at < old)

    return {
        "email_logs": await in_batches(engine, run, EMAIL_LOGS, candidates, deleting(EMAIL_LOGS))
    }


async def purge_processed_webhook_events(
    engine: AsyncEngine, run: RetentionRun
) -> Mapping[str, int]:
    """Only processed events: one still unprocessed is the retry's work (or its evidence)."""
    old = cutoff(run.now, PROCESSED_WEBHOOK_DAYS)
    candidates = select(WEBHOOK_EVENTS.c.id).where(
        WEBHOOK_EVENTS.c.processed.is_(True), WEBHOOK_EVENTS.c.created_at < old
    )

    return {
        "webhook_events": await in_batches(
            engine, run, WEBHOOK_EVENTS, candidates, deleting(WEBHOOK_EVENTS)
        )
    }


async def deactivate_expired_api_keys(engine: AsyncEngine, run: RetentionRun) -> Mapping[str, int]:
    """Marks them inactive (authentication already refuses an expired key; this makes the
    key list say so). The rows stay: a key's history is the user's to delete."""
    now = run.now
    candidates = select(API_KEYS.c.id).where(
        API_KEYS.c.is_active.is_(True), API_KEYS.c.expires_at < now
    )

    async def act(conn: AsyncConnection, ids: Sequence[int]) -> int:
        result = await conn.execute(
            update(API_KEYS).where(API_KEYS.c.id == any_(id_array(ids))).values(is_active=False)
        )
        return int(result.rowcount)

    return {"api_keys": await in_batches(engine, run, API_KEYS, candidates, act)}


async def purge_erasure_audit(engine: AsyncEngine, run: RetentionRun) -> Mapping[str, int]:
    """The tombstones of GDPR erasures (migration 025) are kept 7 years, then go."""
    old = cutoff(run.now, ERASURE_AUDIT_DAYS)
    candidates = select(TOMBSTONES.c.id).where(TOMBSTONES.c.erased_at < old)

    return {
        "erased_contacts": await in_batches(
            engine, run, TOMBSTONES, candidates, deleting(TOMBSTONES)
        )
    }
