"""Helpers of the failover tests: an SMTP sink that can refuse every recipient for a while, SMTP
providers made through the API, and a provider chain on the test database and Redis with a
clock the test steps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from litestar import Litestar

from openmailer.adapters.db.providers import SqlAlchemyProviderRepository
from openmailer.adapters.providers.pool import ProviderClientPool
from openmailer.adapters.redis.circuit_breaker import RedisCircuitBreaker
from openmailer.adapters.redis.provider_limits import RedisProviderLimits
from openmailer.core.accounts.service import AccountsPorts as Accounts
from openmailer.core.ports.sending import ProviderClient
from openmailer.core.sending.chain import ChainPorts, ProviderChain
from openmailer.core.sending.contract import OutgoingMessage
from openmailer.core.sending.model import Provider
from openmailer.core.sending.services.providers import open_client
from tests.integration.accounts.accounts_helpers import Caller, engine_of
from tests.integration.sending.sending_helpers import sending_of
from tests.integration.sending.smtp_sink import (
    PASSWORD,
    USER,
    CountingController,
    ScriptedHandler,
    authenticate,
    free_port,
)


@dataclass
class FlakyHandler(ScriptedHandler):
    """While `refusal` is set (`451 …` or `554 …`), every RCPT TO gets it; `rcpts` counts every
    RCPT TO the server was asked, so a test sees whether a provider was tried at all."""

    refusal: str | None = None
    rcpts: int = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:  # type: ignore[no-untyped-def]
        self.rcpts += 1
        if self.refusal is not None:
            return self.refusal
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)


def start_flaky_sink() -> tuple[CountingController, FlakyHandler]:
    handler = FlakyHandler()
    controller = CountingController(
        handler,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=authenticate,
        auth_required=False,
        auth_require_tls=False,
    )
    controller.start()
    return controller, handler


async def smtp_provider_at(client: httpx.AsyncClient, who: Caller, port: int, **fields: Any) -> int:
    response = await client.post(
        "/api/v1/providers",
        headers=who.headers,
        json={
            "provider_type": "SMTP",
            "provider_name": f"relay-{port}",
            "configuration": {
                "host": "127.0.0.1",
                "port": port,
                "username": USER,
                "password": PASSWORD,
                "use_tls": False,
                "timeout_seconds": 5,
            },
            **fields,
        },
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


class SteppedClock:
    def __init__(self, start: datetime) -> None:
        self.moment = start

    def now(self) -> datetime:
        return self.moment

    def step(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


def chain_on(
    app: Litestar, accounts: Accounts, clock: SteppedClock, *, threshold: int, cooldown: float
) -> tuple[ProviderChain, ProviderClientPool]:
    ports = sending_of(app).ports
    redis = app.state.resources.redis

    async def opener(provider: Provider) -> ProviderClient:
        _, client = await open_client(
            provider,
            provider_types=ports.provider_types,
            configurations=ports.configurations,
            secret_box=ports.secret_box,
            outbox=ports.outbox,
            clock=clock,
        )
        return client

    pool = ProviderClientPool(opener)
    chain = ProviderChain(
        ChainPorts(
            providers=SqlAlchemyProviderRepository(engine_of(accounts)),
            clients=pool,
            breaker=RedisCircuitBreaker(
                redis, clock, failure_threshold=threshold, cooldown_seconds=cooldown
            ),
            limits=RedisProviderLimits(redis, clock),
            clock=clock,
        )
    )
    return chain, pool


def mail(number: int, recipient: str | None = None) -> OutgoingMessage:
    to = recipient or f"reader{number}@example.net"
    raw = (
        f"From: news@acme.example\r\nTo: {to}\r\nSubject: Issue {number}\r\n"
        f"Message-ID: <failover{number}@acme.example>\r\n\r\nHello {number}\r\n"
    ).encode()
    return OutgoingMessage(
        message_id=f"<failover{number}@acme.example>",
        sender="bounces@acme.example",
        recipients=(to,),
        subject=f"Issue {number}",
        raw=raw,
    )
