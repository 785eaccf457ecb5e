"""Helpers for the accounts integration tests: users, sessions and API keys made directly."""

from __future__ import annotations

import asyncio
import itertools
import os
import re
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from openmailer.adapters.db.unit_of_work import SqlAlchemyUnitOfWork
from openmailer.core.accounts.model import Principal, User
from openmailer.core.accounts.plans import RATE_WINDOW_SECONDS, Plan
from openmailer.core.accounts.service import AccountsPorts as Accounts
from openmailer.core.accounts.services import api_keys, auth, users

PASSWORD = "correct horse battery"
_names = itertools.count(1)


@dataclass
class Caller:
    user: User
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def make_user(
    accounts: Accounts, *, admin: bool = False, plan: str = Plan.ENTERPRISE
) -> User:
    name = f"user{next(_names)}_{os.getpid()}"
    return await users.create_user(
        name,
        f"{name}@example.com",
        PASSWORD,
        admin=admin,
        plan=plan,
        users=accounts.users,
        hasher=accounts.hasher,
    )


async def session_for(accounts: Accounts, user: User) -> Caller:
    result = await auth.login(
        user.username,
        PASSWORD,
        totp_code=None,
        client_ip="127.0.0.1",
        users=accounts.users,
        hasher=accounts.hasher,
        sessions=accounts.sessions,
        secret_box=accounts.secret_box,
        replay_guard=accounts.replay_guard,
        clock=accounts.clock,
    )
    return Caller(user=result.user, token=result.token)


async def api_key_for(
    accounts: Accounts, user: User, scopes: list[str], *, test: bool = False
) -> Caller:
    principal = Principal(user=user, scopes=frozenset())
    _, plaintext = await api_keys.create_api_key(
        principal, "test key", scopes, test=test, api_keys=accounts.api_keys, clock=accounts.clock
    )
    return Caller(user=user, token=plaintext)


async def within_one_rate_window(redis: Redis, seconds_needed: int = 15) -> None:
    """Waits for the next rate-limit window when this one has fewer than `seconds_needed` left,
    so that a test's requests all count in one window (windows follow Redis' clock)."""
    now, _ = await redis.time()
    left = RATE_WINDOW_SECONDS - now % RATE_WINDOW_SECONDS
    if left < seconds_needed:
        await asyncio.sleep(left + 0.2)


async def forget_failed_authentications(redis: Redis) -> None:
    """Tests share one client IP: a test that sends many bad credentials on purpose starts each
    batch with the address's failure budget unspent."""
    stale = [key async for key in redis.scan_iter("om:rl:ip:*:failed-auth:*")]
    if stale:
        await redis.delete(*stale)


def json_operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path template, operation) of each operation of an OpenAPI document that takes a
    JSON body."""
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if "application/json" in operation.get("requestBody", {}).get("content", {})
    ]


def concrete_path(template: str, resource_id: int) -> str:
    """The template with every path parameter (`{user_id}`, `{segment_id}`, ...) set to one id:
    for checks that refuse the request before any resource is looked up."""
    return re.sub(r"\{[^}]+\}", str(resource_id), template)


def engine_of(accounts: Accounts) -> AsyncEngine:
    """The app's engine, reached through the accounts' unit of work (the every-route walk's
    resource factories are given the accounts ports only)."""
    unit = accounts.unit_of_work()
    assert isinstance(unit, SqlAlchemyUnitOfWork)
    return unit.engine
