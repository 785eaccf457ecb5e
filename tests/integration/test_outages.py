"""With PostgreSQL or Redis down, the API answers 503 problems soon and logs the cause once.

Each test builds the app on a service that is out of reach: a closed port (connection refused)
or a "black hole" that accepts connections and never answers.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import text

from openmailer.adapters.bootstrap import open_database
from openmailer.adapters.http.app import create_app, make_lifespan
from openmailer.adapters.http.outages import outage_of
from openmailer.adapters.settings import Settings, load_settings

pytestmark = pytest.mark.integration

PASSWORD_ROUNDS = 4
HANG_GUARD_SECONDS = 15.0  # only catches a hang; the timeouts below are far shorter
# Loopback, but not the address other tests' rate-limit windows count.
LOCAL_CLIENT = "127.0.0.2"
PUBLIC_CLIENT = "203.0.113.7"
API_KEY = "om_live_" + "A" * 56
SESSION_TOKEN = "om_sess_" + "a" * 43
LOGIN = {"identifier": "ann", "password": "a long password"}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def outage_settings(database_url: str, redis_url: str, **extra: str) -> Settings:
    return load_settings(
        {
            "OPENMAILER_DATABASE_URL": database_url,
            "OPENMAILER_REDIS_URL": redis_url,
            "OPENMAILER_ENV": "test",
            "OPENMAILER_LOG_LEVEL": "WARNING",
            **extra,
        }
    )


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class Served:
    app: Litestar
    logs: _Records

    def client(self, host: str = LOCAL_CLIENT) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=(host, 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[Served]:
    app = create_app(settings, password_rounds=PASSWORD_ROUNDS)
    # create_app points the `openmailer` loggers at stderr, not propagating: listen there.
    logs = _Records()
    logger = logging.getLogger("openmailer")
    logger.addHandler(logs)
    try:
        async with make_lifespan(settings, password_rounds=PASSWORD_ROUNDS)(app):
            yield Served(app, logs)
    finally:
        logger.removeHandler(logs)


@asynccontextmanager
async def black_hole() -> AsyncIterator[int]:
    """A TCP server on 127.0.0.1 that accepts connections and never says a word."""
    accepted: list[asyncio.BaseTransport] = []

    class Silent(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            accepted.append(transport)

    server = await asyncio.get_running_loop().create_server(Silent, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        for transport in accepted:
            transport.close()
        await server.wait_closed()


async def timed(request: Awaitable[httpx.Response]) -> httpx.Response:
    started = time.monotonic()
    async with asyncio.timeout(HANG_GUARD_SECONDS):
        response: httpx.Response = await request
    assert time.monotonic() - started < HANG_GUARD_SECONDS
    return response


def assert_service_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["retry-after"].isdigit()
    assert 0 < int(response.headers["retry-after"]) <= 60
    body = response.json()
    assert body["code"] == "service_unavailable"
    assert body["type"] == "https://openmailer.dev/problems/service-unavailable"
    assert body["status"] == 503
    assert body["request_id"] == response.headers["x-request-id"]
    for internal in ("Error", "Connect call failed", "127.0.0.1", "Traceback"):
        assert internal not in response.text


def assert_cause_logged_once(served: Served, service: str, cause: str, port: int) -> None:
    """One warning naming the server and the cause, no traceback, nothing else at WARNING."""
    assert len(served.logs.records) == 1, [r.getMessage() for r in served.logs.records]
    (record,) = served.logs.records
    assert record.levelno == logging.WARNING
    assert record.exc_info is None
    assert getattr(record, "service", None) == service
    assert cause in record.getMessage()
    assert f"127.0.0.1:{port}" in record.getMessage()


async def test_postgresql_refusing_connections_answers_503(redis_url: str) -> None:
    port = closed_port()
    settings = outage_settings(f"postgresql://postgres@127.0.0.1:{port}/om", redis_url)
    async with serve(settings) as served, served.client() as client:
        for _ in range(2):
            assert_service_unavailable(await timed(client.post("/api/v1/auth/login", json=LOGIN)))
            me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {API_KEY}"})
            assert_service_unavailable(await timed(me))

    assert_cause_logged_once(served, "database", "ConnectionRefusedError", port)


async def test_redis_refusing_connections_answers_503(migrated_database_url: str) -> None:
    port = closed_port()
    settings = outage_settings(migrated_database_url, f"redis://127.0.0.1:{port}/0")
    async with serve(settings) as served, served.client() as client:
        for _ in range(2):
            assert_service_unavailable(await timed(client.post("/api/v1/auth/login", json=LOGIN)))
            me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {SESSION_TOKEN}"})
            assert_service_unavailable(await timed(me))

    assert_cause_logged_once(served, "redis", "ConnectionError", port)


async def test_postgresql_that_never_answers_fails_within_the_connect_timeout(
    redis_url: str,
) -> None:
    async with black_hole() as port:
        settings = outage_settings(
            f"postgresql://postgres@127.0.0.1:{port}/om",
            redis_url,
            OPENMAILER_DATABASE_CONNECT_TIMEOUT="1",
        )
        async with serve(settings) as served, served.client() as client:
            for _ in range(2):
                login = client.post("/api/v1/auth/login", json=LOGIN)
                assert_service_unavailable(await timed(login))

    assert_cause_logged_once(served, "database", "TimeoutError", port)


async def test_redis_that_never_answers_fails_within_its_timeout(
    migrated_database_url: str,
) -> None:
    async with black_hole() as port:
        settings = outage_settings(
            migrated_database_url, f"redis://127.0.0.1:{port}/0", OPENMAILER_REDIS_TIMEOUT="1"
        )
        async with serve(settings) as served, served.client() as client:
            for _ in range(2):
                login = client.post("/api/v1/auth/login", json=LOGIN)
                assert_service_unavailable(await timed(login))

    assert_cause_logged_once(served, "redis", "TimeoutError", port)


async def test_a_statement_over_the_statement_timeout_is_a_database_outage(
    database_url: str,
) -> None:
    settings = outage_settings(
        database_url, "redis://127.0.0.1:1/0", OPENMAILER_DATABASE_STATEMENT_TIMEOUT="1"
    )
    async with open_database(settings) as database, database.engine.connect() as conn:
        # asyncpg's command_timeout: a plain TimeoutError, recognised by where it came from
        with pytest.raises(TimeoutError) as failure:
            await timed(conn.execute(text("SELECT pg_sleep(30)")))
    outage = outage_of(failure.value)
    assert outage is not None and outage.service == "database"


async def test_health_tells_why_only_to_a_local_client(redis_url: str) -> None:
    settings = outage_settings(f"postgresql://postgres@127.0.0.1:{closed_port()}/om", redis_url)
    async with serve(settings) as served:
        async with served.client(PUBLIC_CLIENT) as public:
            response = await timed(public.get("/health"))
        async with served.client(LOCAL_CLIENT) as local:
            local_response = await timed(local.get("/health"))

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["database"] == {"ok": False}
    assert body["redis"] == {"ok": True}
    assert "Error" not in response.text and "Connect call failed" not in response.text

    assert local_response.status_code == 503
    assert "ConnectionRefusedError" in local_response.json()["database"]["error"]
