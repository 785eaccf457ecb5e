"""Quotas over HTTP: one per user whatever the credential, and a per-address budget of failed
authentications that is checked before any credential is looked up."""

from __future__ import annotations

import httpx
import pytest
from litestar import Litestar
from redis.asyncio import Redis

from openmailer.core.accounts.credentials import KeyMode, generate_api_key
from openmailer.core.accounts.plans import (
    FAILED_AUTHENTICATIONS_PER_MINUTE_PER_IP,
    PLAN_LIMITS,
    Plan,
)
from openmailer.core.accounts.service import AccountsPorts as Accounts
from tests.integration.accounts.accounts_helpers import (
    api_key_for,
    make_user,
    session_for,
    within_one_rate_window,
)

pytestmark = pytest.mark.integration

FREE_QUOTA = PLAN_LIMITS[Plan.FREE].api_requests_per_minute


@pytest.fixture
def redis(app: Litestar, client: httpx.AsyncClient) -> Redis:
    resources_redis: Redis = app.state.resources.redis
    return resources_redis


async def test_a_users_keys_and_session_together_get_the_plans_quota_once(
    client: httpx.AsyncClient, accounts: Accounts, redis: Redis
) -> None:
    user = await make_user(accounts, plan=Plan.FREE)
    callers = [await session_for(accounts, user)] + [
        await api_key_for(accounts, user, ["read:analytics"]) for _ in range(3)
    ]
    await within_one_rate_window(redis)

    statuses = []
    for n in range(FREE_QUOTA + 40):
        response = await client.get("/api/v1/me", headers=callers[n % len(callers)].headers)
        statuses.append(response.status_code)
        assert response.headers["ratelimit-limit"] == str(FREE_QUOTA)

    assert statuses.count(200) == FREE_QUOTA
    assert statuses.count(429) == 40
    assert set(statuses[FREE_QUOTA:]) == {429}  # every credential is refused once it is spent


async def test_bogus_keys_from_one_address_get_429_once_its_failures_are_spent(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts, redis: Redis
) -> None:
    valid = await api_key_for(accounts, await make_user(accounts), ["read:analytics"])
    await within_one_rate_window(redis)

    statuses = []
    for _ in range(40):
        bogus = {"Authorization": f"Bearer {generate_api_key(KeyMode.LIVE).plaintext}"}
        statuses.append((await client.get("/api/v1/me", headers=bogus)).status_code)

    assert statuses == [401] * FAILED_AUTHENTICATIONS_PER_MINUTE_PER_IP + [429] * (
        40 - FAILED_AUTHENTICATIONS_PER_MINUTE_PER_IP
    )
    refused = await client.get("/api/v1/me", headers=valid.headers)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert refused.json()["code"] == "rate_limited"

    elsewhere = httpx.ASGITransport(app=app, client=("198.51.100.20", 40000))
    async with httpx.AsyncClient(transport=elsewhere, base_url="http://testserver") as other:
        assert (await other.get("/api/v1/me", headers=valid.headers)).status_code == 200
