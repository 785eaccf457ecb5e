"""CSV imports over HTTP on PostgreSQL: upload, progress, errors, modes, merge, counts."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text

from openmailer.core.accounts.service import AccountsPorts as Accounts
from openmailer.core.imports.service import ImportsService
from tests.integration.accounts.accounts_helpers import Caller, engine_of
from tests.integration.imports.import_helpers import (
    assert_counts_fresh,
    contacts_of,
    create_list,
    csv_bytes,
    imported,
    rejections,
    upload,
)

pytestmark = pytest.mark.integration


async def test_upload_queues_a_job_that_imports_good_rows_and_lists_the_bad(
    client: httpx.AsyncClient, accounts: Accounts, caller: Caller, imports: ImportsService
) -> None:
    list_id = await create_list(client, caller)
    body = csv_bytes(
        "email,first_name,last_name",
        "ann@example.com,Ann,Lee",
        "bob@EXAMPLE.com,Bob,",
        "not an address,Nope,No",
        "cleo@example.com,Cleo,Ray",
    )
    job = await imported(client, caller, imports, body, list_id)
    assert job["status"] == "COMPLETED", job
    assert (job["rows_read"], job["inserted"], job["updated"], job["rejected"]) == (4, 3, 0, 1)
    assert list(await rejections(client, caller, job["id"])) == [4]
    contacts = await contacts_of(engine_of(accounts), caller.user.id)
    assert set(contacts) == {"ann@example.com", "bob@example.com", "cleo@example.com"}
    assert contacts["ann@example.com"]["status"] == "SUBSCRIBED"
    assert contacts["ann@example.com"]["source"] == "CSV_IMPORT"
    assert await assert_counts_fresh(engine_of(accounts), list_id) == (3, 3)
    listed = await client.get("/api/v1/imports", headers=caller.headers)
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()["items"]] == [job["id"]]


async def test_an_existing_contact_gets_tags_and_custom_fields_merged(
    client: httpx.AsyncClient, accounts: Accounts, caller: Caller, imports: ImportsService
) -> None:
    created = await client.post(
        "/api/v1/contacts",
        json={
            "email": "dana@example.com",
            "first_name": "Dana",
            "tags": ["old"],
            "custom_fields": {"plan": "free", "city": "Lyon"},
        },
        headers=caller.headers,
    )
    assert created.status_code == 201, created.text
    list_id = await create_list(client, caller)
    body = csv_bytes(
        "Email,Given,Plan,Labels",
        "DANA@example.com,,pro,new|vip",
        "eve@example.com,Eve,free,",
    )
    mapping = (
        '{"Email": "email", "Given": "first_name", "Plan": "custom_fields.plan", "Labels": "tags"}'
    )
    job = await imported(client, caller, imports, body, list_id, mapping=mapping)
    assert (job["inserted"], job["updated"], job["rejected"]) == (1, 1, 0), job
    contacts = await contacts_of(engine_of(accounts), caller.user.id)
    dana = contacts["dana@example.com"]
    assert dana["first_name"] == "Dana"  # a blank cell keeps what was there
    assert dana["tags"] == ["new", "old", "vip"]
    assert dana["custom_fields"] == {"plan": "pro", "city": "Lyon"}
    assert contacts["eve@example.com"]["custom_fields"] == {"plan": "free"}
    assert await assert_counts_fresh(engine_of(accounts), list_id) == (2, 2)


async def test_a_known_contact_the_file_changes_nothing_of_is_left_as_is_and_joins_the_list(
    client: httpx.AsyncClient, accounts: Accounts, caller: Caller, imports: ImportsService
) -> None:
    created = await client.post(
        "/api/v1/contacts",
        json={
            "email": "hal@example.com",
            "first_name": "Hal",
            "tags": ["a", "b"],
            "custom_fields": {"plan": "pro", "city": "Oslo"},
            "status": "SUBSCRIBED",
        },
        headers=caller.headers,
    )
    assert created.status_code == 201, created.text
    list_id = await create_list(client, caller)
    # the same name, tags and a field already there (case and blanks aside), and one that adds
    body = csv_bytes(
        "email,first_name,last_name,plan,tags",
        "HAL@example.com,Hal,,pro,b",
        "ivy@example.com,Ivy,,free,",
    )
    mapping = '{"email": "email", "first_name": "first_name", "last_name": "last_name",'
    mapping += ' "plan": "custom_fields.plan", "tags": "tags"}'
    engine = engine_of(accounts)

    async def hal() -> tuple[object, ...]:
        async with engine.connect() as conn:
            row = await conn.execute(
                text("SELECT ctid, xmin, updated_at FROM contacts WHERE id = :id"),
                {"id": created.json()["id"]},
            )
            return tuple(row.one())

    before = await hal()
    job = await imported(client, caller, imports, body, list_id, mapping=mapping)
    assert (job["inserted"], job["updated"], job["rejected"]) == (1, 1, 0), job
    assert await hal() == before  # the same row version: not written again
    assert await assert_counts_fresh(engine, list_id) == (2, 2)  # but it joined the list
    again = await imported(client, caller, imports, body, list_id, mapping=mapping)
    assert (again["inserted"], again["updated"]) == (0, 2), again
    assert await assert_counts_fresh(engine, list_id) == (2, 2)  # members already


async def test_update_only_skips_unknown_addresses(
    client: httpx.AsyncClient, accounts: Accounts, caller: Caller, imports: ImportsService
) -> None:
    created = await client.post(
        "/api/v1/contacts", json={"email": "fay@example.com"}, headers=caller.headers
    )
    assert created.status_code == 201
    list_id = await create_list(client, caller)
    body = csv_bytes("email,last_name", "fay@example.com,Fay", "gus@example.com,Gus")
    job = await imported(client, caller, imports, body, list_id, mode="update_only")
    assert (job["inserted"], job["updated"], job["skipped"]) == (0, 1, 1), job
    contacts = await contacts_of(engine_of(accounts), caller.user.id)
    assert set(contacts) == {"fay@example.com"}
    assert contacts["fay@example.com"]["last_name"] == "Fay"
    total, _ = await assert_counts_fresh(engine_of(accounts), list_id)
    assert total == 1


async def test_unsubscribe_removes_members_and_blocklists_unknown_addresses(
    client: httpx.AsyncClient, accounts: Accounts, caller: Caller, imports: ImportsService
) -> None:
    list_id = await create_list(client, caller)
    other_list = await create_list(client, caller)
    subscribe = csv_bytes("email", "hal@example.com", "ida@example.com")
    for target in (list_id, other_list):
        job = await imported(client, caller, imports, subscribe, target)
        assert job["status"] == "COMPLETED"
    assert await assert_counts_fresh(engine_of(accounts), other_list) == (2, 2)
    body = csv_bytes("email", "hal@example.com", "jon@example.com")
    job = await imported(client, caller, imports, body, list_id, mode="unsubscribe")
    assert (job["inserted"], job["updated"]) == (1, 1), job
    contacts = await contacts_of(engine_of(accounts), caller.user.id)
    assert contacts["hal@example.com"]["status"] == "UNSUBSCRIBED"
    assert contacts["jon@example.com"]["status"] == "UNSUBSCRIBED"
    assert contacts["ida@example.com"]["status"] == "SUBSCRIBED"
    assert await assert_counts_fresh(engine_of(accounts), list_id) == (1, 1)
    # hal is still a member of the other list, no longer an active one
    assert await assert_counts_fresh(engine_of(accounts), other_list) == (2, 1)


async def test_bad_fields_are_refused_before_anything_is_stored(
    client: httpx.AsyncClient, caller: Caller
) -> None:
    list_id = await create_list(client, caller)
    body = csv_bytes("email", "kim@example.com")
    for fields, status in (
        ({"mode": "sometimes"}, 422),
        ({"mapping": "not json"}, 422),
        ({"mapping": '{"email": "phone"}'}, 422),
        ({"delimiter": "|"}, 422),
    ):
        response = await upload(client, caller, body, list_id, **fields)
        assert response.status_code == status, (fields, response.text)
    missing_list = await upload(client, caller, body, 2**40)
    assert missing_list.status_code == 404
    no_file = await client.post(
        "/api/v1/imports", data={"list_id": str(list_id)}, files={}, headers=caller.headers
    )
    assert no_file.status_code in {415, 422}
    as_json = await client.post("/api/v1/imports", json={}, headers=caller.headers)
    assert as_json.status_code == 415
    no_body = await client.post("/api/v1/imports", headers=caller.headers)
    assert no_body.status_code == 422
    listed = await client.get("/api/v1/imports", headers=caller.headers)
    assert listed.json()["total"] == 0


async def test_another_users_import_is_not_found(
    client: httpx.AsyncClient, caller: Caller, accounts: Accounts, imports: ImportsService
) -> None:
    from tests.integration.accounts.accounts_helpers import make_user
    from tests.integration.imports.import_helpers import foreign_import

    foreign = await foreign_import(accounts, await make_user(accounts))
    for path in (f"/api/v1/imports/{foreign}", f"/api/v1/imports/{foreign}/errors"):
        response = await client.get(path, headers=caller.headers)
        assert response.status_code == 404, path
