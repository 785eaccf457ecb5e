"""Fixtures of the integration tests: databases of their own, and the API (every installed area,
plus the test-only sample area) on real PostgreSQL (migrated) and Redis."""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager

import httpx
import pytest
from litestar import Litestar

from openmailer.adapters.http.app import create_app, make_lifespan
from openmailer.adapters.settings import Settings, load_settings
from openmailer.core.accounts.service import AccountsPorts as Accounts
from openmailer.plugins.manager import load_areas
from tests import sample_area


@pytest.fixture
def empty_database_url(
    temporary_databases: Callable[[str], AbstractContextManager[str]],
) -> Iterator[str]:
    """A new empty database for this test alone, dropped after it."""
    with temporary_databases("empty") as url:
        yield url


TEST_PASSWORD_ROUNDS = 4  # bcrypt's minimum: the suite hashes many passwords


@pytest.fixture(scope="session")
def accounts_settings(migrated_database_url: str, redis_url: str) -> Settings:
    keys = ",".join(
        f"{key_id}:{base64.b64encode(os.urandom(32)).decode()}" for key_id in ("k1", "k2")
    )
    return load_settings(
        {
            "OPENMAILER_DATABASE_URL": migrated_database_url,
            "OPENMAILER_REDIS_URL": redis_url,
            "OPENMAILER_SECRET_KEYS": keys,
            "OPENMAILER_ENV": "test",
            "OPENMAILER_LOG_LEVEL": "WARNING",
            # Domain verification must never leave the machine and must answer fast where no
            # nameserver listens (the walk, schemathesis); its own tests run a DNS server.
            "OPENMAILER_DNS_NAMESERVERS": "127.0.0.1:9",
            "OPENMAILER_DNS_TIMEOUT": "0.2",
        }
    )


@pytest.fixture(scope="session")
def app(accounts_settings: Settings) -> Litestar:
    """With an area only the tests register, so the every-route walk covers a new area too."""
    areas = load_areas(extra=[sample_area])
    return create_app(accounts_settings, password_rounds=TEST_PASSWORD_ROUNDS, areas=areas)


@pytest.fixture(scope="session")
async def client(app: Litestar, accounts_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """In the tests' own event loop, so tests can also use the app's Redis and engine."""
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    lifespan = make_lifespan(accounts_settings, password_rounds=TEST_PASSWORD_ROUNDS)
    async with (
        lifespan(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as test_client,
    ):
        # The Redis database may hold keys of an earlier run whose user ids meant other users.
        redis = app.state.resources.redis
        stale = [key async for key in redis.scan_iter("om:*")]
        if stale:
            await redis.delete(*stale)
        yield test_client


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, accounts_settings: Settings) -> Settings:
    """The environment `openmailer` commands read, naming the test database and Redis."""
    monkeypatch.setenv("OPENMAILER_DATABASE_URL", accounts_settings.database_url or "")
    monkeypatch.setenv("OPENMAILER_REDIS_URL", accounts_settings.redis_url or "")
    keys = ",".join(
        f"{key.key_id}:{base64.b64encode(key.key).decode()}"
        for key in accounts_settings.secret_keys
    )
    monkeypatch.setenv("OPENMAILER_SECRET_KEYS", keys)
    return accounts_settings


@pytest.fixture
async def accounts(app: Litestar, client: httpx.AsyncClient) -> AsyncIterator[Accounts]:
    accounts: Accounts = app.state.accounts.ports
    # Tests share one client IP; start each with fresh per-IP windows.
    redis = app.state.resources.redis
    stale = [key async for key in redis.scan_iter("om:rl:ip:*")]
    if stale:
        await redis.delete(*stale)
    yield accounts
