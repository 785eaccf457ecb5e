"""The OUTBOX provider keeps each message exactly as it would have left; `/api/v1/outbox` reads
it back: keyset pages newest first, one message as JSON or as `message/rfc822`."""

from __future__ import annotations

import base64

import httpx
import pytest
from litestar import Litestar

from openmailer.core.accounts.service import AccountsPorts as Accounts
from openmailer.core.sending.outcomes import OutcomeKind
from tests.integration.accounts.accounts_helpers import api_key_for, make_user
from tests.integration.sending.sending_helpers import principal_of, raw_message, sending_of

pytestmark = pytest.mark.integration


async def test_the_outbox_keeps_signed_messages_and_serves_them_back(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    owner = await make_user(accounts)
    caller = await api_key_for(accounts, owner, ["read:campaigns", "write:campaigns"])
    created = await client.post(
        "/api/v1/providers",
        headers=caller.headers,
        json={"provider_type": "OUTBOX", "provider_name": "local", "configuration": {}},
    )
    assert created.status_code == 201, created.text
    provider_id = created.json()["id"]
    check = await client.post(f"/api/v1/providers/{provider_id}/test", headers=caller.headers)
    assert check.json()["ok"] is True

    _, outbox = await sending_of(app).open_client(principal_of(owner), provider_id)
    batch = [raw_message(f"reader{n}@example.org", n) for n in range(3)]
    outcomes = await outbox.send_batch(batch)
    await outbox.aclose()
    assert all(o.kind is OutcomeKind.ACCEPTED for o in outcomes)
    assert all((o.provider_message_id or "").startswith("outbox-") for o in outcomes)

    first = await client.get("/api/v1/outbox?limit=2", headers=caller.headers)
    assert first.status_code == 200, first.text
    page = first.json()
    assert [item["recipient"] for item in page["items"]] == [
        "reader2@example.org",
        "reader1@example.org",
    ]
    assert page["items"][0]["subject"] == "Issue 2" and page["items"][0]["campaign_id"] is None
    assert page["items"][0]["provider_id"] == provider_id and "raw" not in page["items"][0]
    second = await client.get(
        f"/api/v1/outbox?limit=2&cursor={page['next_cursor']}", headers=caller.headers
    )
    assert [item["recipient"] for item in second.json()["items"]] == ["reader0@example.org"]
    assert second.json()["next_cursor"] is None

    outbox_id = page["items"][0]["id"]
    as_json = (await client.get(f"/api/v1/outbox/{outbox_id}", headers=caller.headers)).json()
    assert base64.b64decode(as_json["raw_base64"]) == batch[2].raw
    assert as_json["raw"] == (batch[2].raw or b"").decode()
    as_message = await client.get(
        f"/api/v1/outbox/{outbox_id}", headers={**caller.headers, "Accept": "message/rfc822"}
    )
    assert as_message.headers["content-type"].startswith("message/rfc822")
    assert as_message.content == batch[2].raw  # byte for byte, as it would have left

    stranger = await api_key_for(accounts, await make_user(accounts), ["read:campaigns"])
    hidden = await client.get(f"/api/v1/outbox/{outbox_id}", headers=stranger.headers)
    assert hidden.status_code == 404
    empty = await client.get("/api/v1/outbox", headers=stranger.headers)
    assert empty.json() == {"items": [], "limit": 50, "next_cursor": None}


async def test_a_cursor_that_is_not_ours_is_a_4xx(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    caller = await api_key_for(accounts, await make_user(accounts), ["read:campaigns"])
    for cursor in ("garbage", "WyJ4Il0"):  # the second decodes to ["x"]
        response = await client.get(f"/api/v1/outbox?cursor={cursor}", headers=caller.headers)
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "bad_cursor"
