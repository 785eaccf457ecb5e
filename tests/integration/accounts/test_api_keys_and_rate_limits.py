from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import select

from openmailer.adapters.db.tables.users import RateLimit
from openmailer.adapters.redis.flush import flush_usage
from openmailer.core.accounts.credentials import digest
from openmailer.core.accounts.model import AccountStatus
from openmailer.core.accounts.plans import Plan
from openmailer.core.accounts.service import AccountsPorts as Accounts
from tests.integration.accounts.accounts_helpers import Caller, make_user, session_for

pytestmark = pytest.mark.integration


async def create_key(client: httpx.AsyncClient, owner: Caller, **fields: object) -> dict:
    body = {"name": "sync", "scopes": ["read:analytics"], **fields}
    response = await client.post("/api/v1/api-keys", headers=owner.headers, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_key_is_shown_once_stored_as_sha256_and_works_within_its_scopes(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    owner = await session_for(accounts, await make_user(accounts))
    created = await create_key(client, owner)
    key = created["key"]
    assert key.startswith("om_live_") and len(key) == 64
    assert created["api_key"]["prefix"] == key[:10]
    stored = await accounts.api_keys.find_by_digest(digest(key))
    assert stored is not None and stored.display_prefix == key[:10]
    assert (await client.get("/api/v1/me/usage", headers=bearer(key))).status_code == 200
    assert (await client.get("/api/v1/api-keys", headers=bearer(key))).status_code == 403
    listed = (await client.get("/api/v1/api-keys", headers=owner.headers)).json()
    assert listed["total"] == 1 and "key" not in listed["items"][0]
    assert listed["items"][0]["last_used_at"] is not None  # from the Redis buffer


async def test_unknown_scope_is_rejected(client: httpx.AsyncClient, accounts: Accounts) -> None:
    owner = await session_for(accounts, await make_user(accounts))
    response = await client.post(
        "/api/v1/api-keys", headers=owner.headers, json={"name": "x", "scopes": ["admin:all"]}
    )
    assert response.status_code == 400


async def test_revoked_and_expired_keys_are_rejected(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    owner = await session_for(accounts, await make_user(accounts))
    revoked = await create_key(client, owner)
    deleted = await client.delete(
        f"/api/v1/api-keys/{revoked['api_key']['id']}", headers=owner.headers
    )
    assert deleted.status_code == 204
    assert (await client.get("/api/v1/me", headers=bearer(revoked["key"]))).status_code == 401
    soon = datetime.now(UTC) + timedelta(seconds=1)
    expiring = await create_key(client, owner, expires_at=soon.isoformat())
    await _sleep_until(soon)
    assert (await client.get("/api/v1/me", headers=bearer(expiring["key"]))).status_code == 401


async def _sleep_until(moment: datetime) -> None:
    import asyncio

    await asyncio.sleep(max((moment - datetime.now(UTC)).total_seconds(), 0) + 0.05)


async def test_test_keys_are_marked(client: httpx.AsyncClient, accounts: Accounts) -> None:
    owner = await session_for(accounts, await make_user(accounts))
    created = await create_key(client, owner, test=True)
    assert created["key"].startswith("om_test_") and created["api_key"]["test"] is True


async def test_keys_of_a_suspended_user_stop_working(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    user = await make_user(accounts)
    created = await create_key(client, await session_for(accounts, user))
    await accounts.users.set_status(user.id, AccountStatus.SUSPENDED)
    response = await client.get("/api/v1/me", headers=bearer(created["key"]))
    assert response.status_code == 401 and response.json()["code"] == "account_blocked"


async def test_rate_limit_answers_429_with_headers_and_is_flushed_in_aggregate(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    user = await make_user(accounts, plan=Plan.FREE)  # 60 requests a minute
    owner = await session_for(accounts, user)
    key = (await create_key(client, owner))["key"]
    statuses = []
    for _ in range(61):
        response = await client.get("/api/v1/me/usage", headers=bearer(key))
        statuses.append(response.status_code)
        if response.status_code == 429:
            break
    if statuses[-1] != 429:  # a window boundary fell inside the loop: one more full window
        for _ in range(61):
            response = await client.get("/api/v1/me/usage", headers=bearer(key))
            if response.status_code == 429:
                break
    assert response.status_code == 429
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["ratelimit-limit"] == "60"
    assert response.headers["ratelimit-remaining"] == "0"
    spent = await client.get("/api/v1/me", headers=owner.headers)  # the user's quota, shared
    assert spent.status_code == 429 and spent.headers["ratelimit-limit"] == "60"
    logout = await client.post("/api/v1/auth/logout", headers=owner.headers)  # never throttled
    assert logout.status_code == 204, logout.text
    assert (await client.get("/api/v1/me", headers=owner.headers)).status_code == 401

    await flush_usage(app.state.resources)
    rate_limits = RateLimit.__table__
    async with app.state.resources.engine.connect() as conn:
        rows = (
            await conn.execute(select(rate_limits).where(rate_limits.c.user_id == user.id))
        ).all()
    assert rows, "the window counts reach the rate_limits table"
    assert sum(row.request_count for row in rows) >= 63  # every request, one row per window
    assert all(row.limit_value == 60 and row.resource_type == "API_REQUEST" for row in rows)
    stored = await accounts.api_keys.find_by_digest(digest(key))
    assert stored is not None and stored.last_used_at is not None
    assert await app.state.resources.redis.exists("om:rl-audit") == 0
