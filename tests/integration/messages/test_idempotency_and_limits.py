"""Idempotency keys, the monthly limit under concurrency, and the email logs' pages."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from openmailer.core.accounts.service import AccountsPorts as Accounts
from tests.integration.messages.messages_helpers import (
    message_body,
    scalar,
    send,
    sender,
    set_monthly_limit,
)

pytestmark = pytest.mark.integration

OUTBOX_ROWS = "SELECT count(*) FROM outbox_messages WHERE user_id = :u"
LOG_ROWS = "SELECT count(*) FROM email_logs WHERE user_id = :u"
SENT_COUNT = "SELECT monthly_emails_sent FROM users WHERE id = :u"


async def test_the_same_key_twice_answers_the_first_message_and_sends_one_mail(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    who = await sender(accounts)
    body = message_body("acme.example")
    first = await send(client, who, body, key="order-42-shipped")
    second = await send(client, who, body, key="order-42-shipped")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert await scalar(accounts, OUTBOX_ROWS, u=who.user.id) == 1
    assert await scalar(accounts, LOG_ROWS, u=who.user.id) == 1
    assert await scalar(accounts, SENT_COUNT, u=who.user.id) == 1

    other = await send(client, who, {**body, "to": "grace@example.net"}, key="order-42-shipped")
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    # Another user's identical key is theirs alone.
    stranger = await sender(accounts)
    theirs = await send(client, stranger, body, key="order-42-shipped")
    assert theirs.status_code == 201 and theirs.json()["id"] != first.json()["id"]


async def test_concurrent_retries_with_one_key_send_one_mail(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    who = await sender(accounts)
    body = message_body("acme.example")
    answers = await asyncio.gather(*(send(client, who, body, key="burst") for _ in range(6)))
    statuses = sorted(a.status_code for a in answers)
    assert set(statuses) <= {201, 409} and 201 in statuses
    # Every 201 is the one message; the others met the first still running (409).
    assert len({a.json()["id"] for a in answers if a.status_code == 201}) == 1
    for answer in answers:
        if answer.status_code == 409:
            assert answer.json()["code"] == "idempotency_request_in_progress"
    assert await scalar(accounts, OUTBOX_ROWS, u=who.user.id) == 1


async def test_a_refused_request_does_not_hold_its_key(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    who = await sender(accounts)
    await set_monthly_limit(accounts, who.user, 0)
    body = message_body("acme.example")
    assert (await send(client, who, body, key="after-upgrade")).status_code == 429
    await set_monthly_limit(accounts, who.user, 10)
    assert (await send(client, who, body, key="after-upgrade")).status_code == 201


@pytest.mark.parametrize(("key", "status"), [("x" * 256, 422), ("caf\u00e9", 422), ("", 422)])
async def test_a_malformed_key_is_refused(
    client: httpx.AsyncClient, accounts: Accounts, key: str, status: int
) -> None:
    who = await sender(accounts)
    headers = {**who.headers, "Idempotency-Key": key}
    response = await client.post(
        "/api/v1/messages",
        headers={k: v.encode() if k == "Idempotency-Key" else v for k, v in headers.items()},
        json=message_body("acme.example"),
    )
    assert response.status_code == status, response.text
    assert await scalar(accounts, LOG_ROWS, u=who.user.id) == 0


async def test_the_monthly_limit_holds_under_concurrent_sends(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    who = await sender(accounts)
    await set_monthly_limit(accounts, who.user, 5, sent=2)
    body = message_body("acme.example")
    answers = await asyncio.gather(*(send(client, who, body) for _ in range(10)))
    codes = sorted(a.status_code for a in answers)
    assert codes == [201] * 3 + [429] * 7
    refused = next(a for a in answers if a.status_code == 429)
    assert refused.json()["code"] == "monthly_limit_exceeded"
    assert int(refused.headers["Retry-After"]) > 0
    assert await scalar(accounts, SENT_COUNT, u=who.user.id) == 5
    assert await scalar(accounts, LOG_ROWS, u=who.user.id) == 3


async def test_email_logs_filter_and_page_newest_first(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    who = await sender(accounts)
    ids = []
    for to in ("a@example.net", "b@example.net", "c@example.net"):
        ids.append((await send(client, who, message_body("acme.example", to))).json()["id"])
    first = (await client.get("/api/v1/email-logs?limit=2", headers=who.headers)).json()
    assert [item["id"] for item in first["items"]] == [ids[2], ids[1]]
    assert first["next_cursor"] is not None
    rest = (
        await client.get(
            "/api/v1/email-logs", params={"after": first["next_cursor"]}, headers=who.headers
        )
    ).json()
    assert [item["id"] for item in rest["items"]] == [ids[0]] and rest["next_cursor"] is None

    async def ids_for(**params: str) -> list[int]:
        page = await client.get("/api/v1/email-logs", params=params, headers=who.headers)
        assert page.status_code == 200, page.text
        return [item["id"] for item in page.json()["items"]]

    assert await ids_for(recipient="b@example.net") == [ids[1]]
    assert await ids_for(status="SENT", email_type="TRANSACTIONAL") == ids[::-1]
    assert await ids_for(status="FAILED") == []
    assert await ids_for(email_type="CAMPAIGN") == []
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    assert await ids_for(created_from=future) == []
    assert await ids_for(created_from=past, created_to=future) == ids[::-1]
    bad = await client.get("/api/v1/email-logs?after=bm90LW91cnM", headers=who.headers)
    assert bad.status_code == 422 and bad.json()["code"] == "bad_cursor"

    stranger = await sender(accounts)
    assert (await client.get("/api/v1/email-logs", headers=stranger.headers)).json()["items"] == []
    gone = await client.get(f"/api/v1/messages/{ids[0]}", headers=stranger.headers)
    assert gone.status_code == 404
