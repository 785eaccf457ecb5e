from __future__ import annotations

import httpx
import pytest

from openmailer.core.accounts.service import AccountsPorts as Accounts
from tests.integration.accounts.accounts_helpers import PASSWORD, make_user, session_for

pytestmark = pytest.mark.integration
Client = httpx.AsyncClient


async def login(client: Client, identifier: str, password: str = PASSWORD, **extra: str):
    return await client.post(
        "/api/v1/auth/login", json={"identifier": identifier, "password": password, **extra}
    )


async def test_login_with_username_or_email_returns_a_working_session(
    client: Client, accounts: Accounts
) -> None:
    user = await make_user(accounts)
    for identifier in (user.username, user.email.upper()):
        response = await login(client, identifier)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["token_type"] == "Bearer" and body["user"]["id"] == user.id
        me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
        assert me.status_code == 200
        assert me.json()["username"] == user.username
        assert me.headers["x-request-id"]
    stored = await accounts.users.get(user.id)
    assert stored is not None and stored.last_login_at is not None
    assert stored.last_login_ip


async def test_unknown_user_and_wrong_password_answer_identically(
    client: Client, accounts: Accounts
) -> None:
    user = await make_user(accounts)
    unknown = await login(client, "nobody-at-all")
    wrong = await login(client, user.username, "wrong password")
    assert unknown.status_code == wrong.status_code == 401
    strip = lambda body: {k: v for k, v in body.items() if k != "request_id"}  # noqa: E731
    assert strip(unknown.json()) == strip(wrong.json())
    assert unknown.headers["content-type"] == "application/problem+json"


async def test_password_over_72_bytes_is_a_clear_422(client: Client, accounts: Accounts) -> None:
    user = await make_user(accounts)
    response = await login(client, user.username, "é" * 40)
    assert response.status_code == 422
    assert response.json()["code"] == "password_too_long"


async def test_brute_force_locks_the_account_even_for_the_right_password(
    client: Client, accounts: Accounts
) -> None:
    user = await make_user(accounts)
    for _ in range(5):
        assert (await login(client, user.username, "wrong password")).status_code == 401
    stored = await accounts.users.get(user.id)
    assert stored is not None
    assert stored.failed_login_attempts == 5 and stored.account_locked_until is not None
    locked = await login(client, user.username)
    assert locked.status_code == 401
    assert locked.json()["code"] == "invalid_credentials"


async def test_logout_revokes_the_session(client: Client, accounts: Accounts) -> None:
    caller = await session_for(accounts, await make_user(accounts))
    assert (await client.post("/api/v1/auth/logout", headers=caller.headers)).status_code == 204
    assert (await client.get("/api/v1/me", headers=caller.headers)).status_code == 401


async def test_password_change_revokes_other_sessions_only(
    client: Client, accounts: Accounts
) -> None:
    user = await make_user(accounts)
    current, other = await session_for(accounts, user), await session_for(accounts, user)
    response = await client.post(
        "/api/v1/me/password",
        headers=current.headers,
        json={"current_password": PASSWORD, "new_password": "a brand new password"},
    )
    assert response.status_code == 204, response.text
    assert (await client.get("/api/v1/me", headers=current.headers)).status_code == 200
    assert (await client.get("/api/v1/me", headers=other.headers)).status_code == 401
    assert (await login(client, user.username, "a brand new password")).status_code == 200


async def test_suspended_user_cannot_log_in_or_use_sessions(
    client: Client, accounts: Accounts
) -> None:
    admin = await session_for(accounts, await make_user(accounts, admin=True))
    user = await make_user(accounts)
    caller = await session_for(accounts, user)
    suspend = await client.patch(
        f"/api/v1/users/{user.id}", headers=admin.headers, json={"account_status": "SUSPENDED"}
    )
    assert suspend.status_code == 200, suspend.text
    assert (await client.get("/api/v1/me", headers=caller.headers)).status_code == 401
    assert (await login(client, user.username)).json()["code"] == "account_blocked"
    reactivate = await client.patch(
        f"/api/v1/users/{user.id}", headers=admin.headers, json={"account_status": "ACTIVE"}
    )
    assert reactivate.status_code == 200
    assert (await login(client, user.username)).status_code == 200


async def test_an_admin_patch_that_is_refused_commits_nothing(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    """The plan change and the refused self-suspension share one transaction in PostgreSQL."""
    admin = await make_user(accounts, admin=True, plan="FREE")
    caller = await session_for(accounts, admin)

    response = await client.patch(
        f"/api/v1/users/{admin.id}",
        json={"subscription_plan": "PRO", "account_status": "SUSPENDED"},
        headers=caller.headers,
    )

    assert (response.status_code, response.json()["code"]) == (409, "own_account")
    stored = await accounts.users.get(admin.id)
    assert stored is not None
    assert (stored.subscription_plan, stored.monthly_email_limit) == ("FREE", 1_000)
    assert (await client.get("/api/v1/me", headers=caller.headers)).status_code == 200
