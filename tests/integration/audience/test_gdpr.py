"""GDPR export and erasure over HTTP on PostgreSQL: every linked table, streaming, tombstones."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from openmailer.core.accounts.service import AccountsPorts as Accounts
from tests.integration.accounts.accounts_helpers import Caller
from tests.integration.audience.audience_helpers import contacts_caller, engine_of, new_address

pytestmark = pytest.mark.integration
_codes = itertools.count(1)


async def create_contact(client: httpx.AsyncClient, caller: Caller, email: str) -> int:
    response = await client.post("/api/v1/contacts", json={"email": email}, headers=caller.headers)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def create_list_with(client: httpx.AsyncClient, caller: Caller, *contact_ids: int) -> int:
    response = await client.post(
        "/api/v1/lists",
        json={"name": f"gdpr list {next(_codes)}", "double_opt_in": False},
        headers=caller.headers,
    )
    assert response.status_code == 201, response.text
    list_id = int(response.json()["id"])
    added = await client.post(
        f"/api/v1/lists/{list_id}/members",
        json={"contact_ids": list(contact_ids)},
        headers=caller.headers,
    )
    assert added.status_code in (200, 201), added.text
    return list_id


async def seed_history(
    engine: AsyncEngine, user_id: int, contact_id: int, email: str, *, clicks: int = 1
) -> dict[str, int]:
    """A campaign sent to the contact with rows in every table that links to it; the ids."""
    code = next(_codes)
    async with engine.begin() as conn:

        async def one(sql: str, **values: object) -> int:
            return int((await conn.execute(text(sql), values)).scalar_one())

        template = await one(
            "INSERT INTO email_templates (name, subject, body, created_by)"
            " VALUES (:name, 's', 'b', :user) RETURNING id",
            name=f"gdpr template {code} {contact_id}",
            user=user_id,
        )
        campaign = await one(
            "INSERT INTO email_campaigns (name, template_id, created_by, total_recipients,"
            " sent_count) VALUES ('c', :template, :user, 1, 1) RETURNING id",
            template=template,
            user=user_id,
        )
        recipient = await one(
            "INSERT INTO campaign_recipients (campaign_id, contact_id, status, tracking_id)"
            " VALUES (:campaign, :contact, 'CLICKED', :tracking) RETURNING id",
            campaign=campaign,
            contact=contact_id,
            tracking=f"t-{code}-{contact_id}",
        )
        link = await one(
            "INSERT INTO campaign_links (campaign_id, original_url, short_code, link_index)"
            " VALUES (:campaign, 'https://x.example', :short, :index) RETURNING id",
            campaign=campaign,
            index=contact_id,
            short=f"s{code}c{contact_id}"[:20],
        )
        click_ids = [
            await one(
                "INSERT INTO campaign_clicks (campaign_id, recipient_id, link_id, ip_address,"
                " user_agent) VALUES (:campaign, :recipient, :link, '203.0.113.9', :agent)"
                " RETURNING id",
                campaign=campaign,
                recipient=recipient,
                link=link,
                agent=f"agent of {email}",
            )
            for _ in range(clicks)
        ]
        by_recipient = await one(
            "INSERT INTO email_logs (user_id, campaign_id, recipient_id, email_type,"
            " recipient_email, subject, status, error_message) VALUES (:user, :campaign,"
            " :recipient, 'CAMPAIGN', :email, 'Hi', 'SENT', :error) RETURNING id",
            user=user_id,
            campaign=campaign,
            recipient=recipient,
            email=email,
            error=f"550 {email} unknown",
        )
        by_address = await one(
            "INSERT INTO email_logs (user_id, email_type, recipient_email, status)"
            " VALUES (:user, 'TRANSACTIONAL', :email, 'SENT') RETURNING id",
            user=user_id,
            email=email.upper(),
        )
        event = await one(
            "INSERT INTO webhook_events (user_id, event_type, payload)"
            " VALUES (:user, 'BOUNCED', CAST(:payload AS jsonb)) RETURNING id",
            user=user_id,
            payload=json.dumps({"recipient": email, "reason": "hard"}),
        )
        outbox = await one(
            "INSERT INTO outbox_messages (user_id, recipient_email, subject, message_id,"
            " raw_message) VALUES (:user, :email, 'Hi', :mid, :raw) RETURNING id",
            user=user_id,
            email=email,
            mid=f"<{code}@x>",
            raw=f"To: {email}\r\n\r\nhello".encode(),
        )
    return {
        "campaign": campaign,
        "recipient": recipient,
        "click": click_ids[0],
        "log_by_recipient": by_recipient,
        "log_by_address": by_address,
        "event": event,
        "outbox": outbox,
    }


async def export_of(client: httpx.AsyncClient, caller: Caller, contact_id: int) -> httpx.Response:
    return await client.get(f"/api/v1/contacts/{contact_id}/export", headers=caller.headers)


def ids(document: dict[str, list[dict[str, object]]], section: str) -> set[object]:
    return {row["id"] for row in document[section]}


async def test_the_export_holds_every_linked_row_and_none_of_another_contacts(
    client: httpx.AsyncClient, caller: Caller, accounts: Accounts
) -> None:
    engine = engine_of(accounts)
    email, other_email = new_address("ann"), new_address("joann")
    contact = await create_contact(client, caller, email)
    other = await create_contact(client, caller, other_email)
    list_id = await create_list_with(client, caller, contact, other)
    mine = await seed_history(engine, caller.user.id, contact, email)
    theirs = await seed_history(engine, caller.user.id, other, other_email)

    response = await export_of(client, caller, contact)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    document = response.json()
    assert document["contact"]["id"] == contact
    assert document["contact"]["email"] == email
    assert "confirmation_token" not in document["contact"]
    assert [row["list_id"] for row in document["memberships"]] == [list_id]
    assert ids(document, "campaign_recipients") == {mine["recipient"]}
    assert ids(document, "campaign_clicks") == {mine["click"]}
    assert document["campaign_clicks"][0]["ip_address"] == "203.0.113.9"
    assert ids(document, "email_logs") == {mine["log_by_recipient"], mine["log_by_address"]}
    assert ids(document, "webhook_events") == {mine["event"]}
    assert ids(document, "outbox_messages") == {mine["outbox"]}
    assert "raw_message" not in document["outbox_messages"][0]
    assert theirs["event"] not in ids(document, "webhook_events")


async def asgi_body_messages(app: Litestar, path: str, caller: Caller) -> list[dict[str, Any]]:
    """The ASGI messages the app sends for a GET (httpx's transport joins the body into one)."""
    sent: list[dict[str, Any]] = []
    requested = False
    finished = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if requested:  # like a server: the client goes once the whole body is sent
            await finished.wait()
            return {"type": "http.disconnect"}
        requested = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            finished.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"authorization", caller.headers["Authorization"].encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    await app(scope, receive, send)  # type: ignore[arg-type]
    return sent


async def test_a_long_history_is_streamed_in_chunks(
    app: Litestar, client: httpx.AsyncClient, caller: Caller, accounts: Accounts
) -> None:
    email = new_address("busy")
    contact = await create_contact(client, caller, email)
    await seed_history(engine_of(accounts), caller.user.id, contact, email, clicks=2_000)
    sent = await asgi_body_messages(app, f"/api/v1/contacts/{contact}/export", caller)
    start, *bodies = sent
    assert start["status"] == 200
    assert b"content-length" not in dict(start["headers"])
    assert len(bodies) > 4  # the clicks alone come in four batches
    assert all(message["more_body"] for message in bodies[:-1])
    document = json.loads(b"".join(message.get("body", b"") for message in bodies))
    assert len(document["campaign_clicks"]) == 2_000


PERSONAL_COLUMNS = (
    ("contacts", "email"),
    ("email_logs", "recipient_email"),
    ("email_logs", "error_message"),
    ("campaign_clicks", "user_agent"),
    ("webhook_events", "payload::text"),
    ("outbox_messages", "recipient_email"),
)


async def mentions(engine: AsyncEngine, email: str) -> list[str]:
    found = []
    async with engine.connect() as conn:
        for table, column in PERSONAL_COLUMNS:
            hit = await conn.scalar(
                text(f"SELECT count(*) FROM {table} WHERE strpos(lower({column}), :a) > 0"),
                {"a": email.lower()},
            )
            if hit:
                found.append(f"{table}.{column}")
    return found


async def test_erasure_removes_the_person_everywhere_and_keeps_the_rest(
    client: httpx.AsyncClient, caller: Caller, accounts: Accounts
) -> None:
    engine = engine_of(accounts)
    email, other_email = new_address("erase"), new_address("keep")
    contact = await create_contact(client, caller, email)
    other = await create_contact(client, caller, other_email)
    await create_list_with(client, caller, contact, other)
    mine = await seed_history(engine, caller.user.id, contact, email)
    theirs = await seed_history(engine, caller.user.id, other, other_email)
    assert len(await mentions(engine, email)) == len(PERSONAL_COLUMNS)

    response = await client.post(f"/api/v1/contacts/{contact}/erase", headers=caller.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "contacts": 1,
        "contact_list_memberships": 1,
        "campaign_recipients": 1,
        "campaign_clicks": 1,
        "contact_status_overrides": 0,
        "email_logs": 2,
        "webhook_events": 1,
        "outbox_messages": 1,
    }
    assert await mentions(engine, email) == []
    async with engine.connect() as conn:

        async def scalar(sql: str, **values: object) -> object:
            return (await conn.execute(text(sql), values)).scalar_one()

        assert await scalar("SELECT count(*) FROM contacts WHERE id = :i", i=contact) == 0
        assert (
            await scalar(
                "SELECT count(*) FROM campaign_recipients WHERE contact_id = :i", i=contact
            )
            == 0
        )
        assert (
            await scalar("SELECT count(*) FROM campaign_clicks WHERE id = :i", i=mine["click"]) == 0
        )
        assert (
            await scalar(
                "SELECT count(*) FROM email_logs"
                " WHERE id IN (:a, :b) AND recipient_email = 'erased'",
                a=mine["log_by_recipient"],
                b=mine["log_by_address"],
            )
            == 2
        )
        assert (
            await scalar("SELECT payload::text FROM webhook_events WHERE id = :i", i=mine["event"])
            == '{"erased": true}'
        )
        assert (
            await scalar("SELECT count(*) FROM outbox_messages WHERE id = :i", i=mine["outbox"])
            == 0
        )
        # the tombstone: who and when, no address
        tombstone = (
            await conn.execute(
                text("SELECT user_id, address_hash FROM erased_contacts WHERE contact_id = :i"),
                {"i": contact},
            )
        ).one()
        assert tombstone.user_id == caller.user.id
        assert email.encode() not in bytes(tombstone.address_hash)
        assert len(bytes(tombstone.address_hash)) == 32
        # the other contact's history is untouched
        assert (
            await scalar(
                "SELECT payload->>'recipient' FROM webhook_events WHERE id = :i", i=theirs["event"]
            )
            == other_email
        )
        assert (
            await scalar("SELECT count(*) FROM campaign_clicks WHERE id = :i", i=theirs["click"])
            == 1
        )
    assert await mentions(engine, other_email) != []


async def test_counts_after_erasure_equal_a_fresh_count(
    client: httpx.AsyncClient, caller: Caller, accounts: Accounts
) -> None:
    erased, kept = new_address("c1"), new_address("c2")
    erased_id = await create_contact(client, caller, erased)
    kept_id = await create_contact(client, caller, kept)
    list_id = await create_list_with(client, caller, erased_id, kept_id)
    await client.post(f"/api/v1/contacts/{erased_id}/erase", headers=caller.headers)
    listed = (await client.get(f"/api/v1/lists/{list_id}", headers=caller.headers)).json()
    async with engine_of(accounts).connect() as conn:
        fresh = (
            await conn.execute(
                text(
                    "SELECT count(*) AS total, count(*) FILTER (WHERE c.status = 'SUBSCRIBED')"
                    " AS active FROM contact_list_memberships m JOIN contacts c"
                    " ON c.id = m.contact_id WHERE m.list_id = :l AND m.status = 'ACTIVE'"
                ),
                {"l": list_id},
            )
        ).one()
    assert (listed["total_contacts"], listed["active_contacts"]) == (fresh.total, fresh.active)
    assert fresh.total == 1


async def test_an_erased_address_cannot_come_back_by_create_or_batch(
    client: httpx.AsyncClient, caller: Caller
) -> None:
    email = new_address("gone")
    contact = await create_contact(client, caller, email)
    assert (
        await client.post(f"/api/v1/contacts/{contact}/erase", headers=caller.headers)
    ).status_code == 200
    again = await client.post(
        "/api/v1/contacts", json={"email": f"  {email.upper()} "}, headers=caller.headers
    )
    assert again.status_code == 422, again.text
    assert again.json()["code"] == "erased_address"
    fresh = new_address("fresh")
    batch = await client.post(
        "/api/v1/contacts/batch",
        json={"contacts": [{"email": fresh}, {"email": email}]},
        headers=caller.headers,
    )
    assert batch.status_code == 200, batch.text
    results = batch.json()["results"]
    assert [result["outcome"] for result in results] == ["created", "rejected"]
    assert results[1]["code"] == "erased_address"


async def test_erasing_twice_or_another_users_contact_is_404_and_others_may_keep_the_address(
    client: httpx.AsyncClient, caller: Caller, accounts: Accounts
) -> None:
    email = new_address("shared")
    other = await contacts_caller(accounts)
    theirs = await create_contact(client, other, email)
    mine = await create_contact(client, caller, email)
    for path in (f"/api/v1/contacts/{theirs}/erase", f"/api/v1/contacts/{theirs}/export"):
        method = "POST" if path.endswith("erase") else "GET"
        response = await client.request(method, path, headers=caller.headers)
        assert response.status_code == 404, (path, response.text)
    assert (
        await client.post(f"/api/v1/contacts/{mine}/erase", headers=caller.headers)
    ).status_code == 200
    twice = await client.post(f"/api/v1/contacts/{mine}/erase", headers=caller.headers)
    assert twice.status_code == 404
    assert (await export_of(client, caller, mine)).status_code == 404
    # the tombstone is the erasing user's: another user's contact stays and may be re-created
    assert (await export_of(client, other, theirs)).status_code == 200
    assert (
        await client.delete(f"/api/v1/contacts/{theirs}", headers=other.headers)
    ).status_code == 204
    assert (
        await client.post("/api/v1/contacts", json={"email": email}, headers=other.headers)
    ).status_code == 201
