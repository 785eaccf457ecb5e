"""The three ways a subscribing batch's rows are written: new addresses COPied, settled rows left
alone, and the rest merged by the all-purpose statement, which also takes the whole batch when
another writer inserts one of its new addresses between the probe and the COPY."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from openmailer.adapters.db import import_merge
from openmailer.adapters.db.import_merge import count_merged, merge_batch
from openmailer.core.accounts.service import AccountsPorts as Accounts
from openmailer.core.audience.model import ContactStatus, NewContact
from openmailer.core.imports.model import ImportMode, StagedContact
from openmailer.core.imports.service import ImportsService
from tests.integration.accounts.accounts_helpers import Caller, engine_of
from tests.integration.audience.audience_helpers import audience_of, principal_of
from tests.integration.imports.import_helpers import (
    assert_counts_fresh,
    contacts_of,
    create_list,
    csv_bytes,
    imported,
)

pytestmark = pytest.mark.integration

# xmin changes with every write of a row, a lock (FOR SHARE) included
ROW_VERSIONS = text(
    "SELECT email, xmin::text AS version, xmax::text AS locker FROM contacts"
    " WHERE user_id = :user_id"
)


async def versions(accounts: Accounts, user_id: int) -> dict[str, tuple[str, str]]:
    async with engine_of(accounts).connect() as conn:
        rows = await conn.execute(ROW_VERSIONS, {"user_id": user_id})
        return {row.email: (row.version, row.locker) for row in rows}


async def test_a_file_imported_again_writes_only_the_rows_it_changes(
    client: httpx.AsyncClient, accounts: Accounts, caller: Caller, imports: ImportsService
) -> None:
    list_id = await create_list(client, caller)
    first = csv_bytes(
        "email,first_name,plan,tags",
        "same@example.com,Ann,pro,news",
        "renamed@example.com,Bob,free,news",
        "tagged@example.com,Cy,team,news",
        "left@example.com,Di,pro,news",
    )
    mapping = '{"email": "email", "first_name": "first_name", "plan": "custom_fields.plan",'
    mapping += ' "tags": "tags"}'
    job = await imported(client, caller, imports, first, list_id, mapping=mapping)
    assert (job["inserted"], job["updated"]) == (4, 0), job
    engine = engine_of(accounts)
    async with engine.begin() as conn:  # one contact leaves the list
        await conn.execute(
            text(
                "UPDATE contact_list_memberships SET status = 'REMOVED' WHERE list_id = :l"
                " AND contact_id = (SELECT id FROM contacts WHERE email = 'left@example.com')"
            ),
            {"l": list_id},
        )
        await conn.execute(
            text("UPDATE contact_lists SET total_contacts = 3, active_contacts = 3 WHERE id = :l"),
            {"l": list_id},
        )
    before = await versions(accounts, caller.user.id)

    again = csv_bytes(
        "email,first_name,plan,tags",
        "same@example.com,Ann,pro,news",  # settled: changes nothing, already a member
        "renamed@example.com,Robert,free,news",  # a new first name
        "tagged@example.com,,team,vip",  # a tag more (no name: the stored one stays)
        "left@example.com,Di,pro,news",  # unchanged, but joins the list again
        "fresh@example.com,Eve,pro,",  # new
    )
    job = await imported(client, caller, imports, again, list_id, mapping=mapping)
    after = await versions(accounts, caller.user.id)

    assert (job["inserted"], job["updated"], job["skipped"]) == (1, 4, 0), job
    assert after["same@example.com"] == before["same@example.com"]  # not written, not locked
    assert after["renamed@example.com"] != before["renamed@example.com"]
    assert after["tagged@example.com"] != before["tagged@example.com"]
    contacts = await contacts_of(engine, caller.user.id)
    assert contacts["renamed@example.com"]["first_name"] == "Robert"
    assert contacts["tagged@example.com"]["first_name"] == "Cy"
    assert contacts["tagged@example.com"]["tags"] == ["news", "vip"]
    assert contacts["fresh@example.com"]["custom_fields"] == {"plan": "pro"}
    assert await assert_counts_fresh(engine, list_id) == (5, 5)


async def test_a_new_address_taken_by_another_writer_before_the_copy_is_merged_instead(
    client: httpx.AsyncClient,
    accounts: Accounts,
    caller: Caller,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    owner = principal_of(caller.user)
    list_id = await create_list(client, caller)
    taken = await audience_of(accounts).create_contact(
        owner, NewContact(email="taken@example.com", status=ContactStatus.SUBSCRIBED)
    )
    probe = import_merge.known_addresses

    async def probe_before_the_insert(*arguments: Any) -> dict[str, bool]:
        # what the probe saw when it ran before the other writer's commit
        known = await probe(*arguments)
        assert "taken@example.com" in known
        return {}

    monkeypatch.setattr(import_merge, "known_addresses", probe_before_the_insert)
    staged = [
        StagedContact(2, "Taken@Example.com", "Tess", None, {"plan": "pro"}, ["vip"]),
        StagedContact(3, "brand-new@example.com", "Nia", None, {}, []),
    ]
    engine = engine_of(accounts)
    async with engine.begin() as conn:
        merged = await merge_batch(
            conn,
            user_id=caller.user.id,
            list_id=list_id,
            mode=ImportMode.SUBSCRIBE,
            contacts=staged,
            now=datetime.now(UTC).replace(tzinfo=None),
        )
        await count_merged(conn, list_id, ImportMode.SUBSCRIBE, merged)

    assert (merged.inserted, merged.updated, merged.joined) == (1, 1, 2)
    contacts = await contacts_of(engine, caller.user.id)
    assert set(contacts) == {"taken@example.com", "brand-new@example.com"}
    assert contacts["taken@example.com"]["first_name"] == "Tess"  # merged, not duplicated
    assert contacts["taken@example.com"]["tags"] == ["vip"]
    async with engine.connect() as conn:
        kept_id = await conn.scalar(
            text("SELECT id FROM contacts WHERE lower(email) = 'taken@example.com'")
        )
    assert kept_id == taken.id
    assert await assert_counts_fresh(engine, list_id) == (2, 2)


async def test_batches_new_to_the_account_are_copied_without_the_probe_until_one_is_not(
    client: httpx.AsyncClient,
    accounts: Accounts,
    caller: Caller,
    imports: ImportsService,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Once a committed batch of the run was all new, the next ones are COPied without asking
    which addresses the account holds; one that holds some fails that COPY, leaves nothing of
    it, and is probed and merged; later batches probe again."""
    list_id = await create_list(client, caller)
    engine = engine_of(accounts)
    await imported(client, caller, imports, csv_bytes("email", "held@example.com"), list_id)
    probe = import_merge.known_addresses
    probed: list[list[str]] = []

    async def recorded_probe(
        driver: Any, user_id: int, list_id: int, contacts: list[StagedContact]
    ) -> dict[str, bool]:
        probed.append(sorted(contact.email for contact in contacts))
        return await probe(driver, user_id, list_id, contacts)

    monkeypatch.setattr(import_merge, "known_addresses", recorded_probe)
    body = csv_bytes(
        "email,first_name",
        *(f"new{n}@example.com,N{n}" for n in range(9)),  # batches 1 to 3: new
        "new9@example.com,N9",  # batch 4: COPied without the probe, which fails on …
        "HELD@example.com,Hal",  # … an address the account holds (another case of it)
        "new10@example.com,N10",
        "new11@example.com,N11",  # batch 5: probed again
    )
    job = await imported(client, caller, imports, body, list_id, batch_rows=3)
    assert job["status"] == "COMPLETED", job
    assert (job["inserted"], job["updated"], job["rejected"]) == (12, 1, 0), job
    # batches 1 and 2 merge before any has committed: probed; 3 and 4 after an all-new one
    # had: COPied without it, and 4, failing, then probed; 5 is probed or not as 4 has
    # committed or not when it is read
    assert sorted(batch for batch in probed if batch != ["new11@example.com"]) == [
        ["HELD@example.com", "new10@example.com", "new9@example.com"],
        ["new0@example.com", "new1@example.com", "new2@example.com"],
        ["new3@example.com", "new4@example.com", "new5@example.com"],
    ]
    contacts = await contacts_of(engine, caller.user.id)
    assert len(contacts) == 13
    assert contacts["held@example.com"]["first_name"] == "Hal"  # merged, not duplicated
    assert await assert_counts_fresh(engine, list_id) == (13, 13)
