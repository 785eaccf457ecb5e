"""The HTTP API on the in-memory fakes: no PostgreSQL, no Redis, the same answers.

The settings point at closed ports, so a route that reached past the fakes would fail loudly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from litestar import Litestar

from openmailer.adapters.http.app import create_app, make_lifespan
from openmailer.adapters.settings import load_settings
from openmailer.core.accounts.model import Principal
from tests.unit.accounts.accounts_scenario import PASSWORD, Accounts

pytestmark = pytest.mark.unit

NOWHERE = {
    "OPENMAILER_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
    "OPENMAILER_REDIS_URL": "redis://127.0.0.1:1/0",
    "OPENMAILER_ENV": "test",
    "OPENMAILER_LOG_LEVEL": "WARNING",
}


@pytest.fixture
async def api(accounts: Accounts) -> AsyncIterator[httpx.AsyncClient]:
    settings = load_settings(NOWHERE)
    service = accounts.service()
    app: Litestar = create_app(settings, accounts=service)
    transport = httpx.ASGITransport(app=app, client=("198.51.100.4", 50000))
    async with (
        make_lifespan(settings, accounts=service)(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        yield client


async def login(api: httpx.AsyncClient, identifier: str, password: str) -> httpx.Response:
    return await api.post(
        "/api/v1/auth/login", json={"identifier": identifier, "password": password}
    )


async def test_login_gives_a_session_that_reaches_me(
    api: httpx.AsyncClient, accounts: Accounts
) -> None:
    ann = await accounts.add_user("ann")

    response = await login(api, "ann@example.com", PASSWORD)

    assert response.status_code == 200, response.text
    token = response.json()["token"]
    me = await api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["id"] == ann.id
    assert (await accounts.stored(ann)).last_login_ip == "198.51.100.4"


async def test_five_wrong_passwords_lock_the_account(
    api: httpx.AsyncClient, accounts: Accounts
) -> None:
    ann = await accounts.add_user("ann")
    for _ in range(5):
        wrong = await login(api, "ann", "not the password")
        assert wrong.status_code == 401
        assert wrong.json()["code"] == "invalid_credentials"

    locked = await login(api, "ann", PASSWORD)

    assert locked.status_code == 401
    assert locked.json()["code"] == "invalid_credentials"  # a lock looks like a wrong password
    assert (await accounts.stored(ann)).account_locked_until is not None


async def test_an_api_key_reaches_only_the_routes_of_its_scopes(
    api: httpx.AsyncClient, accounts: Accounts
) -> None:
    ann = await accounts.add_user("ann")
    owner = Principal(user=ann, scopes=frozenset())
    _, analytics = await accounts.service().create_api_key(owner, "reports", ["read:analytics"])
    _, contacts = await accounts.service().create_api_key(owner, "sync", ["read:contacts"])

    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    allowed = await api.get("/api/v1/me/usage", headers=bearer(analytics))
    refused = await api.get("/api/v1/me/usage", headers=bearer(contacts))
    session_only = await api.get("/api/v1/api-keys", headers=bearer(analytics))

    assert allowed.status_code == 200
    assert allowed.headers["ratelimit-limit"] == "60"
    assert (refused.status_code, refused.json()["code"]) == (403, "missing_scope")
    assert session_only.status_code == 403


async def test_the_admin_patch_is_one_unit_of_work_over_http(
    api: httpx.AsyncClient, accounts: Accounts
) -> None:
    await accounts.add_user("root", admin=True)
    token = (await login(api, "root", PASSWORD)).json()["token"]
    me = (await api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})).json()

    response = await api.patch(
        f"/api/v1/users/{me['id']}",
        json={"subscription_plan": "PRO", "account_status": "SUSPENDED"},
        headers={"Authorization": f"Bearer {token}"},
    )

    assert (response.status_code, response.json()["code"]) == (409, "own_account")
    stored = await accounts.users.get(me["id"])
    assert stored is not None and stored.subscription_plan == "FREE"
