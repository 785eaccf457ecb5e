"""The provider chain against two real SMTP servers (aiosmtpd) on the test database and Redis:
transient failures fail over and open the breaker, permanent ones never fail over, a probe
closes it, a provider at its limit is skipped, and two worker processes share the limits."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from litestar import Litestar

from openmailer.adapters.db.providers import SqlAlchemyProviderRepository
from openmailer.core.accounts.service import AccountsPorts as Accounts
from openmailer.core.sending.outcomes import OutcomeKind
from tests.integration.accounts.accounts_helpers import engine_of
from tests.integration.messages.messages_helpers import sender
from tests.integration.sending.failover_helpers import (
    FlakyHandler,
    SteppedClock,
    chain_on,
    mail,
    smtp_provider_at,
    start_flaky_sink,
)
from tests.integration.sending.smtp_sink import CountingController

pytestmark = pytest.mark.integration

Sink = tuple[CountingController, FlakyHandler]


@pytest.fixture
def first() -> Iterator[Sink]:
    controller, handler = start_flaky_sink()
    yield controller, handler
    controller.stop()


@pytest.fixture
def second() -> Iterator[Sink]:
    controller, handler = start_flaky_sink()
    yield controller, handler
    controller.stop()


async def test_transient_failures_fail_over_open_the_breaker_and_a_probe_closes_it(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts, first: Sink, second: Sink
) -> None:
    who = await sender(accounts)
    a = await smtp_provider_at(client, who, first[0].port, is_default=True)
    b = await smtp_provider_at(client, who, second[0].port, priority=1)
    clock = SteppedClock(datetime.now(UTC))
    chain, pool = chain_on(app, accounts, clock, threshold=3, cooldown=30)
    first[1].refusal = "451 4.3.2 system not accepting messages"
    try:
        ordered = await chain.providers_of(who.user.id)
        assert [p.id for p in ordered] == [a, b]
        for number in range(3):
            ((delivery,),) = await chain.send(ordered, [mail(number)])
            assert delivery.outcome.kind is OutcomeKind.ACCEPTED and delivery.provider_id == b
        assert first[1].rcpts == 3 and len(second[1].received) == 3
        stored = await SqlAlchemyProviderRepository(engine_of(accounts)).get(who.user.id, a)
        assert stored is not None and stored.status == "ERROR"
        assert stored.last_error is not None and "451" in stored.last_error
        assert stored.last_error_at is not None

        # Open: the first provider is not even tried.
        ((delivery,),) = await chain.send(ordered, [mail(3)])
        assert delivery.provider_id == b and first[1].rcpts == 3

        # Recovered, and after the cool-down: one probe goes to it and closes the breaker.
        first[1].refusal = None
        clock.step(31)
        ordered = await chain.providers_of(who.user.id)
        ((probe,),) = await chain.send(ordered, [mail(4)])
        assert probe.provider_id == a and probe.outcome.kind is OutcomeKind.ACCEPTED
        ((after,),) = await chain.send(ordered, [mail(5)])
        assert after.provider_id == a and len(first[1].received) == 2
        stored = await SqlAlchemyProviderRepository(engine_of(accounts)).get(who.user.id, a)
        assert stored is not None and stored.status == "ACTIVE"
    finally:
        await pool.aclose()


async def test_a_permanent_refusal_is_final_and_never_fails_over(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts, first: Sink, second: Sink
) -> None:
    who = await sender(accounts)
    a = await smtp_provider_at(client, who, first[0].port, is_default=True)
    await smtp_provider_at(client, who, second[0].port, priority=1)
    chain, pool = chain_on(app, accounts, SteppedClock(datetime.now(UTC)), threshold=1, cooldown=30)
    try:
        ordered = await chain.providers_of(who.user.id)
        for number in range(3):
            ((delivery,),) = await chain.send(ordered, [mail(number, "reject-me@example.net")])
            assert delivery.outcome.kind is OutcomeKind.PERMANENT and delivery.provider_id == a
            assert delivery.outcome.detail is not None and "550" in delivery.outcome.detail
        assert second[1].rcpts == 0
        # Refusals are the recipient's: the provider stays healthy (threshold 1, still closed).
        ((delivery,),) = await chain.send(ordered, [mail(9)])
        assert delivery.provider_id == a and delivery.outcome.kind is OutcomeKind.ACCEPTED
    finally:
        await pool.aclose()


async def test_a_provider_at_its_daily_limit_is_skipped_not_failed(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts, first: Sink, second: Sink
) -> None:
    who = await sender(accounts)
    a = await smtp_provider_at(client, who, first[0].port, is_default=True, daily_limit=2)
    b = await smtp_provider_at(client, who, second[0].port, priority=1)
    chain, pool = chain_on(app, accounts, SteppedClock(datetime.now(UTC)), threshold=1, cooldown=30)
    try:
        ordered = await chain.providers_of(who.user.id)
        results = await chain.send(ordered, [mail(n) for n in range(5)])
        assert [per[0].provider_id for per in results] == [a, a, b, b, b]
        assert all(per[0].outcome.kind is OutcomeKind.ACCEPTED for per in results)
        ((later,),) = await chain.send(ordered, [mail(7)])
        assert later.provider_id == b and first[1].rcpts == 2
        stored = await SqlAlchemyProviderRepository(engine_of(accounts)).get(who.user.id, a)
        assert stored is not None and stored.status == "ACTIVE" and stored.last_error is None
    finally:
        await pool.aclose()


async def test_two_worker_processes_sending_at_once_never_pass_a_limit_together(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts, first: Sink
) -> None:
    who = await sender(accounts)
    limit, each = 37, 30
    await smtp_provider_at(client, who, first[0].port, is_default=True, daily_limit=limit)
    settings = app.state.resources.settings
    env = {**os.environ, "OPENMAILER_DATABASE_URL": settings.database_url}
    env["OPENMAILER_REDIS_URL"] = settings.redis_url
    env["OPENMAILER_SECRET_KEYS"] = ",".join(
        f"{k.key_id}:{base64.b64encode(k.key).decode()}" for k in settings.secret_keys
    )
    start_at = time.time() + 4  # both past their imports: the takes overlap
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.integration.sending.chain_worker",
            str(who.user.id),
            str(each),
            str(worker),
            str(start_at),
            env=env,
            stdout=asyncio.subprocess.PIPE,
        )
        for worker in range(2)
    ]
    answers = [json.loads((await w.communicate())[0].decode().splitlines()[-1]) for w in workers]
    assert [w.returncode for w in workers] == [0, 0]
    assert sum(a["accepted"] for a in answers) == limit
    assert sum(a["no_room"] for a in answers) == 2 * each - limit
    assert len(first[1].received) == limit
