"""Batch upserts and import merges of one address, all woken by the same commit.

A transaction deletes a contact; writers of the same address wait on it. When it commits they all
find the address free and insert it at once: all but the first must then update that contact,
not fail on the key they did not name as their ON CONFLICT target (unique_contact_per_user).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from openmailer.adapters.db.import_merge import count_merged, merge_batch
from openmailer.core.accounts.model import Principal
from openmailer.core.accounts.service import AccountsPorts as Accounts
from openmailer.core.audience.model import BatchItem, ContactStatus, NewContact
from openmailer.core.audience.service import AudienceService
from openmailer.core.imports.model import ImportMode, StagedContact
from tests.integration.accounts.accounts_helpers import make_user
from tests.integration.audience.audience_helpers import engine_of, new_address, principal_of

pytestmark = pytest.mark.integration

DELETE = text("DELETE FROM contacts WHERE id = :id")
WAITING = text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
    " AND wait_event_type = 'Lock'"
)
THE_CONTACT = text(
    "SELECT count(*) AS rows, max(first_name) AS first_name FROM contacts"
    " WHERE user_id = :user_id AND lower(email) = lower(:email)"
)
WRITERS = 10


def import_merge_of(
    accounts: Accounts, owner: Principal, list_id: int, email: str, line: int
) -> Callable[[], Awaitable[object]]:
    staged = StagedContact(
        line=line, email=email, first_name="Again", last_name=None, custom_fields={}, tags=[]
    )

    async def merge() -> object:
        async with engine_of(accounts).begin() as conn:
            merged = await merge_batch(
                conn,
                user_id=owner.user.id,
                list_id=list_id,
                mode=ImportMode.SUBSCRIBE,
                contacts=[staged],
                now=datetime.now(UTC).replace(tzinfo=None),
            )
            await count_merged(conn, list_id, ImportMode.SUBSCRIBE, merged)
            return merged

    return merge


async def test_writers_woken_together_on_a_freed_address_leave_one_contact(
    audience: AudienceService, accounts: Accounts
) -> None:
    owner = principal_of(await make_user(accounts))
    list_id = (await audience.create_list(owner, "raced import")).id
    email = new_address("raced")
    first = await audience.create_contact(
        owner, NewContact(email=email, status=ContactStatus.SUBSCRIBED)
    )
    upsert = BatchItem(email=email, first_name="Again")
    writers: list[Callable[[], Awaitable[object]]] = [
        (lambda: audience.upsert_contacts(owner, [upsert]))
        if index % 2
        else import_merge_of(accounts, owner, list_id, email, index + 2)
        for index in range(WRITERS)
    ]
    engine = engine_of(accounts)
    async with engine.connect() as holder:
        await holder.execute(DELETE, {"id": first.id})
        writing = [asyncio.ensure_future(write()) for write in writers]
        async with engine.connect() as watcher:
            for _ in range(1000):
                waiting = (await watcher.execute(WAITING)).scalar_one()
                await watcher.rollback()  # pg_stat_activity is a snapshot per transaction
                if waiting == WRITERS:
                    break
                await asyncio.sleep(0.01)
            else:
                raise AssertionError(f"{waiting} of {WRITERS} writers waited on the address")
        await holder.commit()
    await asyncio.wait_for(asyncio.gather(*writing), 30)
    async with engine.connect() as conn:
        found = (await conn.execute(THE_CONTACT, {"user_id": owner.user.id, "email": email})).one()
        members = await conn.execute(
            text("SELECT total_contacts FROM contact_lists WHERE id = :id"), {"id": list_id}
        )
        assert members.scalar_one() == 1
    assert (found.rows, found.first_name) == (1, "Again")
