"""Keyset pages and filters of the contacts, and the batch upsert, on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text

from openmailer.core.accounts.service import AccountsPorts as Accounts
from tests.integration.accounts.accounts_helpers import Caller
from tests.integration.audience.audience_helpers import engine_of, new_address

pytestmark = pytest.mark.integration


async def all_pages(client: httpx.AsyncClient, caller: Caller, **query: object) -> list[dict]:
    items: list[dict] = []
    after = None
    pages = 0
    while True:
        params = {**query, **({"after": after} if after else {})}
        response = await client.get("/api/v1/contacts", params=params, headers=caller.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        pages += 1
        after = body["next_cursor"]
        if after is None:
            return items
        assert pages < 100


async def test_keyset_pages_cover_every_contact_once_in_id_order(
    client: httpx.AsyncClient, caller: Caller
) -> None:
    ids = []
    for _ in range(7):
        response = await client.post(
            "/api/v1/contacts", json={"email": new_address()}, headers=caller.headers
        )
        ids.append(response.json()["id"])
    first = await client.get("/api/v1/contacts?limit=3", headers=caller.headers)
    assert [item["id"] for item in first.json()["items"]] == ids[:3]
    assert first.json()["next_cursor"] is not None
    seen = [item["id"] for item in await all_pages(client, caller, limit=3)]
    assert seen == ids
    bad = await client.get("/api/v1/contacts?after=not-a-cursor", headers=caller.headers)
    assert bad.status_code == 422
    assert bad.json()["code"] == "bad_cursor"
    for hostile in ("email_prefix=%00", "tag=%00", "created_to=2026-13-01T00:00:00Z"):
        refused = await client.get(f"/api/v1/contacts?{hostile}", headers=caller.headers)
        assert refused.status_code == 422, (hostile, refused.text)


async def test_filters_by_status_tag_prefix_list_and_creation_time(
    client: httpx.AsyncClient, caller: Caller, accounts: Accounts
) -> None:
    def post(email: str, **fields: object):
        return client.post(
            "/api/v1/contacts", json={"email": email, **fields}, headers=caller.headers
        )

    vip = (await post(new_address("Zed"), tags=["vip"])).json()
    gone = (await post(new_address("zed"), status="UNSUBSCRIBED")).json()
    other = (await post(new_address("amy"), tags=["vip", "x"])).json()
    only = lambda items: sorted(item["id"] for item in items)  # noqa: E731

    assert only(await all_pages(client, caller, status="UNSUBSCRIBED")) == [gone["id"]]
    assert only(await all_pages(client, caller, tag="vip")) == sorted([vip["id"], other["id"]])
    assert only(await all_pages(client, caller, email_prefix="ZE")) == sorted(
        [vip["id"], gone["id"]]
    )
    assert await all_pages(client, caller, email_prefix="z%") == []

    listed = (
        await client.post("/api/v1/lists", json={"name": "filter list"}, headers=caller.headers)
    ).json()
    await client.post(
        f"/api/v1/lists/{listed['id']}/members",
        json={"contact_ids": [other["id"]]},
        headers=caller.headers,
    )
    assert only(await all_pages(client, caller, list_id=listed["id"])) == [other["id"]]

    async with engine_of(accounts).begin() as conn:
        await conn.execute(
            text("UPDATE contacts SET created_at = :at WHERE id = :id"),
            {"at": datetime(2020, 1, 1), "id": gone["id"]},
        )
    old = await all_pages(client, caller, created_to="2021-01-01T00:00:00Z")
    assert only(old) == [gone["id"]]
    recent = await all_pages(
        client, caller, created_from=(datetime.now(UTC) - timedelta(hours=1)).isoformat()
    )
    assert gone["id"] not in only(recent) and vip["id"] in only(recent)


async def test_batch_upserts_by_address_with_a_result_per_item(
    client: httpx.AsyncClient, caller: Caller
) -> None:
    existing = (
        await client.post(
            "/api/v1/contacts",
            json={"email": new_address("Batch"), "first_name": "Old", "tags": ["a"]},
            headers=caller.headers,
        )
    ).json()
    bounced = (
        await client.post(
            "/api/v1/contacts",
            json={"email": new_address(), "status": "BOUNCED"},
            headers=caller.headers,
        )
    ).json()
    fresh = new_address("fresh")
    items = [
        {"email": fresh, "first_name": "New", "tags": ["t"]},
        {"email": existing["email"].upper(), "last_name": "Lee", "tags": ["b"]},
        {"email": "not an address"},
        {"email": fresh.upper()},
        {"email": bounced["email"], "status": "SUBSCRIBED"},
    ]
    response = await client.post(
        "/api/v1/contacts/batch", json={"contacts": items}, headers=caller.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["created"], body["updated"], body["rejected"]) == (1, 1, 3)
    outcomes = [(result["index"], result["outcome"], result["code"]) for result in body["results"]]
    assert outcomes == [
        (0, "created", None),
        (1, "updated", None),
        (2, "rejected", "invalid_email"),
        (3, "rejected", "duplicate_in_batch"),
        (4, "rejected", "status_override_required"),
    ]
    assert body["results"][1]["contact_id"] == existing["id"]
    merged = (await client.get(f"/api/v1/contacts/{existing['id']}", headers=caller.headers)).json()
    assert (merged["first_name"], merged["last_name"], merged["tags"]) == ("Old", "Lee", ["a", "b"])
    assert merged["email"] == existing["email"]
    still = (await client.get(f"/api/v1/contacts/{bounced['id']}", headers=caller.headers)).json()
    assert still["status"] == "BOUNCED"


async def test_a_batch_of_a_thousand_is_one_call_and_a_larger_one_is_refused(
    client: httpx.AsyncClient, caller: Caller
) -> None:
    items = [{"email": new_address("bulk")} for _ in range(1000)]
    response = await client.post(
        "/api/v1/contacts/batch", json={"contacts": items}, headers=caller.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 1000
    again = await client.post(
        "/api/v1/contacts/batch",
        json={"contacts": [*items, {"email": new_address()}]},
        headers=caller.headers,
    )
    assert again.status_code == 400
    updated = await client.post(
        "/api/v1/contacts/batch", json={"contacts": items}, headers=caller.headers
    )
    assert updated.json()["updated"] == 1000


async def test_the_prefix_filter_and_keyset_pages_can_use_their_indexes(
    accounts: Accounts,
) -> None:
    async with engine_of(accounts).connect() as conn:
        definition = await conn.scalar(
            text("SELECT pg_get_indexdef('idx_contacts_user_email_lower'::regclass)")
        )
        assert "text_pattern_ops" in definition
        await conn.execute(text("SET LOCAL enable_seqscan = off"))
        prefix_plan = "\n".join(
            await conn.scalars(
                text(
                    "EXPLAIN SELECT id FROM contacts WHERE user_id = 1"
                    " AND lower(email) ~>=~ 'ann' AND lower(email) ~<~ 'ano'"
                )
            )
        )
        assert "idx_contacts_user_email_lower" in prefix_plan
        keyset_plan = "\n".join(
            await conn.scalars(
                text(
                    "EXPLAIN SELECT * FROM contacts WHERE user_id = 1 AND id > 500000"
                    " ORDER BY id LIMIT 50"
                )
            )
        )
        assert "idx_contacts_user_id_id" in keyset_plan
