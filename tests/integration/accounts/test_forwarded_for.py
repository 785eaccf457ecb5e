"""`X-Forwarded-For` counts only from the proxies `OPENMAILER_TRUSTED_PROXIES` names (none by
default): otherwise every request could pick its own rate-limit bucket and `last_login_ip`."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import ipaddress
import socket
import threading
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from litestar import Litestar
from redis.asyncio import Redis

from openmailer.adapters.cli import processes
from openmailer.adapters.http.app import create_app, make_lifespan
from openmailer.adapters.settings import Settings
from openmailer.core.accounts.plans import PUBLIC_REQUESTS_PER_MINUTE_PER_IP
from openmailer.core.accounts.service import AccountsPorts as Accounts
from tests.integration.accounts.accounts_helpers import (
    PASSWORD,
    make_user,
    within_one_rate_window,
)
from tests.integration.conftest import TEST_PASSWORD_ROUNDS

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
async def behind_local_proxy(accounts_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The API with 127.0.0.1 as its trusted proxy; requests come from 127.0.0.1."""
    settings = dataclasses.replace(
        accounts_settings, trusted_proxies=(ipaddress.ip_network("127.0.0.1"),)
    )
    app = create_app(settings, password_rounds=TEST_PASSWORD_ROUNDS)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40001))
    async with (
        make_lifespan(settings, password_rounds=TEST_PASSWORD_ROUNDS)(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        yield client


async def login(client: httpx.AsyncClient, identifier: str, forwarded_for: str) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/login",
        json={"identifier": identifier, "password": PASSWORD},
        headers={"X-Forwarded-For": forwarded_for},
    )


@pytest.fixture
def redis(app: Litestar, client: httpx.AsyncClient) -> Redis:
    resources_redis: Redis = app.state.resources.redis
    return resources_redis


async def test_without_trusted_proxies_a_forwarded_address_is_ignored(
    client: httpx.AsyncClient, accounts: Accounts, redis: Redis
) -> None:
    await within_one_rate_window(redis)
    user = await make_user(accounts)
    assert (await login(client, user.username, "203.0.113.7")).status_code == 200
    stored = await accounts.users.get(user.id)
    assert stored is not None and stored.last_login_ip == "127.0.0.1"

    statuses = [
        (await login(client, "nobody-here", f"198.51.100.{n}")).status_code for n in range(40)
    ]
    # One login above already counted; the per-IP limit holds whatever the header says.
    assert statuses.count(401) == PUBLIC_REQUESTS_PER_MINUTE_PER_IP - 1
    assert statuses[-1] == 429


async def test_a_trusted_proxy_names_the_client_by_a_valid_address_only(
    behind_local_proxy: httpx.AsyncClient, accounts: Accounts
) -> None:
    user = await make_user(accounts)

    assert (await login(behind_local_proxy, user.username, "203.0.113.7")).status_code == 200
    stored = await accounts.users.get(user.id)
    assert stored is not None and stored.last_login_ip == "203.0.113.7"

    spoofed = "192.0.2.66, 203.0.113.8"  # the client wrote the left one itself
    assert (await login(behind_local_proxy, user.username, spoofed)).status_code == 200
    stored = await accounts.users.get(user.id)
    assert stored is not None and stored.last_login_ip == "203.0.113.8"

    assert (await login(behind_local_proxy, user.username, "<script>")).status_code == 200
    stored = await accounts.users.get(user.id)
    assert stored is not None and stored.last_login_ip == "127.0.0.1"


async def test_behind_a_trusted_proxy_each_client_has_its_own_login_limit(
    behind_local_proxy: httpx.AsyncClient, accounts: Accounts, redis: Redis
) -> None:
    await within_one_rate_window(redis)
    for n in range(PUBLIC_REQUESTS_PER_MINUTE_PER_IP + 5):
        response = await login(behind_local_proxy, "nobody-here", f"198.51.100.{n}")
        assert response.status_code == 401, response.text
    statuses = [
        (await login(behind_local_proxy, "nobody-here", "198.51.100.200")).status_code
        for _ in range(PUBLIC_REQUESTS_PER_MINUTE_PER_IP + 1)
    ]
    assert statuses[-1] == 429


def uvicorn_options_of_the_api_process(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> dict[str, Any]:
    """What `openmailer api` hands to uvicorn, captured instead of serving."""
    captured: dict[str, Any] = {}
    monkeypatch.setenv("OPENMAILER_DATABASE_URL", settings.database_url or "")
    monkeypatch.setenv("OPENMAILER_REDIS_URL", settings.redis_url or "")
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: captured.update(options))
    assert processes.run_api(argparse.Namespace(host=None, port=None, workers=1)) == 0
    return captured


async def test_the_api_process_does_not_let_uvicorn_believe_forwarded_headers(
    monkeypatch: pytest.MonkeyPatch, accounts_settings: Settings, accounts: Accounts
) -> None:
    """uvicorn's own proxy support trusts 127.0.0.1 by default; served with the options of
    `openmailer api`, a forwarded address from a local process changes nothing."""
    options = uvicorn_options_of_the_api_process(monkeypatch, accounts_settings)
    served = {"proxy_headers", "forwarded_allow_ips", "server_header"}
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    config = uvicorn.Config(
        create_app(accounts_settings, password_rounds=TEST_PASSWORD_ROUNDS),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        **{name: value for name, value in options.items() if name in served},
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            assert thread.is_alive(), "the API did not start"
            await asyncio.sleep(0.05)
        user = await make_user(accounts)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as live:
            assert (await login(live, user.username, "203.0.113.7")).status_code == 200
        stored = await accounts.users.get(user.id)
        assert stored is not None and stored.last_login_ip == "127.0.0.1"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
