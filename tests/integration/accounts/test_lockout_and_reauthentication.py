"""Issue 8, points 1, 5 and 6 over HTTP on PostgreSQL: the lockout holds under parallel
guesses, and a held session must re-authenticate to change credentials."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from litestar import Litestar

from openmailer.core.accounts import totp
from openmailer.core.accounts.lockout import DEFAULT_LOCKOUT
from openmailer.core.accounts.service import AccountsPorts as Accounts
from tests.integration.accounts.accounts_helpers import PASSWORD, make_user, session_for

pytestmark = pytest.mark.integration


@pytest.fixture
async def clients(
    app: Litestar, client: httpx.AsyncClient
) -> AsyncIterator[list[httpx.AsyncClient]]:
    """Clients from four addresses, so the per-IP limit of the login route stays out of the way."""
    async with AsyncExitStack() as stack:
        yield [
            await stack.enter_async_context(
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app, client=(f"192.0.2.{n}", 1)),
                    base_url="http://testserver",
                )
            )
            for n in range(1, 5)
        ]


async def test_forty_concurrent_wrong_logins_and_the_right_one_hold_the_limit(
    clients: list[httpx.AsyncClient], accounts: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = await make_user(accounts)
    checked: list[str] = []
    real_verify = accounts.hasher.verify

    async def counting_verify(password: str, password_hash: str | None) -> bool:
        if password_hash is not None:
            checked.append(password)
        return await real_verify(password, password_hash)

    monkeypatch.setattr(accounts.hasher, "verify", counting_verify)

    def login(n: int, password: str) -> object:
        body = {"identifier": user.username, "password": password}
        return clients[n % 4].post("/api/v1/auth/login", json=body)

    attempts = [login(n, f"wrong guess {n}") for n in range(40)]
    attempts.insert(20, login(40, PASSWORD))
    responses = await asyncio.gather(*attempts)  # type: ignore[call-overload]

    statuses = [response.status_code for response in responses]
    assert set(statuses) <= {200, 401}
    assert statuses.count(200) <= 1
    wrong = [password for password in checked if password != PASSWORD]
    limit = DEFAULT_LOCKOUT.max_failures
    if statuses.count(200) == 0:
        assert len(wrong) <= limit  # today: all 40 wrong guesses were checked
    else:
        # The right one forgave the failures claimed before it; those after it make a series
        # of their own, held to the limit too.
        assert len(wrong) <= 2 * limit - 1
    stored = await accounts.users.get(user.id)
    assert stored is not None
    assert stored.failed_login_attempts <= limit
    locked = stored.account_locked_until
    is_locked = locked is not None and locked > datetime.now(UTC)
    if statuses.count(200) == 0:
        assert is_locked == (stored.failed_login_attempts >= limit)
    else:
        # Failures claimed after the right one may have locked the account on top of those it
        # forgave: that lock stands though fewer than the limit are left counted (by design,
        # tests/unit/accounts/test_lockout_under_concurrency.py); a full count is always locked.
        assert is_locked or stored.failed_login_attempts < limit
    if locked is not None:  # a first lock, not the 24 h that 40 counted failures gave
        assert locked - datetime.now(UTC) <= DEFAULT_LOCKOUT.base_lock + timedelta(seconds=5)


async def test_forty_concurrent_wrong_logins_get_exactly_the_limit_of_checks(
    clients: list[httpx.AsyncClient], accounts: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = await make_user(accounts)
    checked: list[str] = []
    real_verify = accounts.hasher.verify

    async def counting_verify(password: str, password_hash: str | None) -> bool:
        if password_hash is not None:
            checked.append(password)
        return await real_verify(password, password_hash)

    monkeypatch.setattr(accounts.hasher, "verify", counting_verify)
    body = {"identifier": user.username, "password": "a wrong guess"}
    responses = await asyncio.gather(
        *(clients[n % 4].post("/api/v1/auth/login", json=body) for n in range(40))
    )

    assert {response.status_code for response in responses} == {401}
    assert len(checked) == DEFAULT_LOCKOUT.max_failures
    stored = await accounts.users.get(user.id)
    assert stored is not None and stored.failed_login_attempts == DEFAULT_LOCKOUT.max_failures
    assert stored.account_locked_until is not None
    left = stored.account_locked_until - datetime.now(UTC)
    assert timedelta(0) < left <= DEFAULT_LOCKOUT.base_lock


async def test_a_session_cannot_start_or_confirm_two_factor_without_the_password(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    caller = await session_for(accounts, await make_user(accounts))

    no_body = await client.post("/api/v1/me/two-factor", headers=caller.headers)
    wrong = await client.post(
        "/api/v1/me/two-factor", headers=caller.headers, json={"password": "stolen session"}
    )

    assert no_body.status_code == 400
    assert (wrong.status_code, wrong.json()["code"]) == (422, "wrong_password")
    stored = await accounts.users.get(caller.user.id)
    assert stored is not None and stored.two_factor_secret is None


async def test_password_guesses_from_a_held_session_lock_the_account(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    user = await make_user(accounts)
    caller = await session_for(accounts, user)
    for n in range(DEFAULT_LOCKOUT.max_failures):
        guess = await client.post(
            "/api/v1/me/password",
            headers=caller.headers,
            json={"current_password": f"guess {n}", "new_password": "an attacker's choice"},
        )
        assert guess.status_code == 422, guess.text

    locked = await client.post(
        "/api/v1/me/password",
        headers=caller.headers,
        json={"current_password": PASSWORD, "new_password": "an attacker's choice"},
    )

    assert (locked.status_code, locked.json()["code"]) == (429, "account_locked")
    assert int(locked.headers["retry-after"]) > 0
    login = await client.post(
        "/api/v1/auth/login", json={"identifier": user.username, "password": PASSWORD}
    )
    assert login.status_code == 401


async def test_an_admin_resets_a_users_two_factor(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    admin = await session_for(accounts, await make_user(accounts, admin=True))
    user = await make_user(accounts)
    caller = await session_for(accounts, user)
    begin = await client.post(
        "/api/v1/me/two-factor", headers=caller.headers, json={"password": PASSWORD}
    )
    secret = begin.json()["secret"]
    code = totp.hotp(totp.decode_secret(secret), totp.time_step(time.time()))
    confirm = await client.post(
        "/api/v1/me/two-factor/confirm",
        headers=caller.headers,
        json={"password": PASSWORD, "code": code},
    )
    assert confirm.status_code == 204, confirm.text

    by_user = await client.delete(f"/api/v1/users/{user.id}/two-factor", headers=caller.headers)
    reset = await client.delete(f"/api/v1/users/{user.id}/two-factor", headers=admin.headers)

    assert by_user.status_code == 403
    assert reset.status_code == 200, reset.text
    assert reset.json()["two_factor_enabled"] is False
    assert (await client.get("/api/v1/me", headers=caller.headers)).status_code == 401
    login = await client.post(
        "/api/v1/auth/login", json={"identifier": user.username, "password": PASSWORD}
    )
    assert login.status_code == 200
