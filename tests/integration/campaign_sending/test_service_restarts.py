"""A Redis or PostgreSQL restart mid-campaign delays sending, never skips anyone (DESIGN.md,
"Reliability model"), with a real `openmailer worker` and an SMTP sink counting Message-IDs.

The machine's Redis and PostgreSQL serve every agent and test run, so these tests bring their
own: a `redis-server` without persistence (a restart empties it, as REFERENCE.md warns: the
queued lane messages and the "a worker is on it" keys are gone) and the embedded PostgreSQL
(fast shutdown, then started again on the same data). An API of its own runs on them.

The reconciler is what the scheduler's `reconcile-campaigns` job runs (`service.reconcile()`),
called here every second rather than every 15 s.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis
from litestar import Litestar
from sqlalchemy import text

from openmailer.adapters import embedded
from openmailer.adapters.db import migrate
from openmailer.adapters.http.app import create_app, make_lifespan
from openmailer.adapters.settings import Settings, load_settings
from openmailer.core.campaigns.sending_service import CampaignSendingService
from openmailer.plugins.manager import load_areas
from tests.integration.accounts.accounts_helpers import engine_of
from tests.integration.campaign_sending.reliability_helpers import (
    BATCH,
    LEASE_SECONDS,
    Sink,
    expected_message_ids,
    send,
    sent_tracking_ids,
    smtp_campaign,
)
from tests.integration.campaign_sending.worker_helpers import (
    Worker,
    wait_until,
    worker_env,
)
from tests.integration.campaigns.conftest import World, make_tenant
from tests.integration.sending.smtp_sink import free_port

pytestmark = [pytest.mark.integration, pytest.mark.own_servers]
RECIPIENTS = 800
# Slow enough that the restart lands mid-send, fast enough for a short test.
SEND_SPEED = 250
THREADS = 4


class RedisServer:
    """`redis-server` on a port of its own, without persistence: a restart starts it empty."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        client.close()

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def keys(self) -> int:
        client = redis.Redis.from_url(self.url)
        try:
            return int(client.dbsize())
        finally:
            client.close()


@dataclass
class Stack:
    """Private PostgreSQL and Redis, and settings naming them."""

    data_dir: Path
    postgres: embedded.EmbeddedProcess
    redis: RedisServer
    settings: Settings

    def stop_postgres(self) -> None:
        self.postgres.stop()  # SIGINT: PostgreSQL's fast shutdown

    def start_postgres(self) -> None:
        self.postgres = embedded.start_postgres(self.data_dir, database="openmailer")


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    data_dir = Path(tempfile.mkdtemp(prefix="om-restarts-", dir="/tmp"))
    keys = ",".join(
        f"{key_id}:{base64.b64encode(os.urandom(32)).decode()}" for key_id in ("k1", "k2")
    )
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, data_dir, ignore_errors=True)
        postgres = embedded.start_postgres(data_dir, database="openmailer")
        servers: list[Stack] = []
        # the server running at the end (a restart replaces the process)
        cleanup.callback(lambda: (servers[0].postgres if servers else postgres).stop())
        migrate.upgrade(postgres.url, "head")
        redis_server = RedisServer()
        cleanup.callback(redis_server.kill)
        settings = load_settings(
            {
                "OPENMAILER_DATABASE_URL": postgres.url,
                "OPENMAILER_REDIS_URL": redis_server.url,
                "OPENMAILER_SECRET_KEYS": keys,
                "OPENMAILER_ENV": "test",
                "OPENMAILER_LOG_LEVEL": "WARNING",
                "OPENMAILER_DNS_NAMESERVERS": "127.0.0.1:9",
                "OPENMAILER_DNS_TIMEOUT": "0.2",
            }
        )
        servers.append(Stack(data_dir, postgres, redis_server, settings))
        yield servers[0]


@dataclass
class Private:
    app: Litestar
    world: World

    @property
    def service(self) -> CampaignSendingService:
        service: CampaignSendingService = self.app.state.services["campaign_sending"]
        return service


@pytest.fixture(scope="module")
async def private(stack: Stack) -> AsyncIterator[Private]:
    app = create_app(stack.settings, password_rounds=4, areas=load_areas())
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    lifespan = make_lifespan(stack.settings, password_rounds=4)
    async with (
        lifespan(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        accounts = app.state.accounts.ports
        world = World(
            client=client,
            accounts=accounts,
            owner=await make_tenant(accounts),
            stranger=await make_tenant(accounts),
        )
        yield Private(app, world)


@pytest.fixture
def env(stack: Stack) -> dict[str, str]:
    return worker_env(
        stack.settings,
        OPENMAILER_CAMPAIGN_BATCH_SIZE=str(BATCH),
        OPENMAILER_CAMPAIGN_LEASE_SECONDS=str(LEASE_SECONDS),
        OPENMAILER_CAMPAIGN_RETRY_BACKOFF="0.2",
    )


async def _progress(world: World, campaign_id: int) -> tuple[str, int] | None:
    """The campaign's status and sent count read from PostgreSQL; None while it cannot answer
    (down, or the pool's connections died with the server: the engine drops them and the next
    read reconnects)."""
    try:
        async with engine_of(world.accounts).connect() as conn:
            row = (
                await conn.execute(
                    text("SELECT status, sent_count FROM email_campaigns WHERE id = :c"),
                    {"c": campaign_id},
                )
            ).one()
    except Exception:
        return None
    return str(row.status), int(row.sent_count)


async def _api_status(world: World, campaign_id: int) -> int:
    """What the API answers a client reading the campaign: a 503 problem while a service it
    needs is down, never a 500."""
    response = await world.client.get(
        f"/api/v1/campaigns/{campaign_id}", headers=world.owner.caller.headers
    )
    if response.status_code == 503:
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["status"] == 503
    return response.status_code


async def _api_recovers(world: World, campaign_id: int, answers: list[int]) -> bool:
    answers.append(await _api_status(world, campaign_id))
    return answers[-1] == 200


async def _sent_at_least(world: World, campaign_id: int, count: int) -> bool:
    progress = await _progress(world, campaign_id)
    return progress is not None and progress[1] >= count


async def _reconciled_and_finished(private: Private, campaign_id: int, woken: list[int]) -> bool:
    """One pass of the scheduler's reconcile job (a failed pass is retried at the next
    period, as the scheduler would), then whether the campaign is SENT."""
    with contextlib.suppress(Exception):
        woken.extend(await private.service.reconcile())
    progress = await _progress(private.world, campaign_id)
    return progress is not None and progress[0] == "SENT"


async def _flagged(world: World, campaign_id: int) -> set[str]:
    async with world.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT tracking_id FROM campaign_recipients "
                "WHERE campaign_id = :c AND possible_duplicate"
            ),
            {"c": campaign_id},
        )
        return {row.tracking_id for row in rows}


async def _assert_nobody_lost(world: World, sink: Sink, campaign_id: int) -> dict[str, int]:
    async with world.engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT status, total_recipients, sent_count, failed_count "
                    "FROM email_campaigns WHERE id = :c"
                ),
                {"c": campaign_id},
            )
        ).one()
        left = await conn.scalar(
            text(
                "SELECT count(*) FROM campaign_recipients "
                "WHERE campaign_id = :c AND status <> 'SENT'"
            ),
            {"c": campaign_id},
        )
    assert tuple(row) == ("SENT", RECIPIENTS, RECIPIENTS, 0)
    assert left == 0
    sent = sent_tracking_ids(sink.handler, campaign_id)
    assert set(sent) == await expected_message_ids(world, campaign_id)  # nobody lost
    return sent


async def test_redis_restarted_empty_mid_send_loses_nobody(
    stack: Stack, private: Private, sink: Sink, env: dict[str, str]
) -> None:
    world = private.world
    campaign_id = await smtp_campaign(world, sink, RECIPIENTS, send_speed=SEND_SPEED)
    worker = Worker(env, threads=THREADS)
    try:
        await send(world, campaign_id)
        await wait_until(
            lambda: _sent_at_least(world, campaign_id, RECIPIENTS // 4), within=60, step=0.05
        )
        stack.redis.kill()
        assert await _api_status(world, campaign_id) == 503
        await asyncio.sleep(1.0)
        assert await _api_status(world, campaign_id) == 503
        stack.redis.start()
        # empty: the lanes' messages and the campaign's wake-up key are gone
        assert stack.redis.keys() == 0
        answers: list[int] = []
        await wait_until(lambda: _api_recovers(world, campaign_id, answers), within=30)
        assert set(answers) <= {200, 503}, answers
        progress = await _progress(world, campaign_id)
        assert progress is not None and progress[1] < RECIPIENTS
        woken: list[int] = []
        await wait_until(
            lambda: _reconciled_and_finished(private, campaign_id, woken), within=60, step=1
        )
        # the worker lived through the restart and finished the campaign itself
        assert worker.process.poll() is None
    finally:
        worker.stop()
    # the lanes' messages were lost with Redis: the reconciler enqueued them again (dramatiq's
    # own retries of the runs that failed wait 15 s and more)
    assert campaign_id in woken
    sent = await _assert_nobody_lost(world, sink, campaign_id)
    duplicated = {tracking_id for tracking_id, count in sent.items() if count > 1}
    assert duplicated <= await _flagged(world, campaign_id)


async def test_postgres_restarted_mid_send_loses_nobody(
    stack: Stack, private: Private, sink: Sink, env: dict[str, str]
) -> None:
    world = private.world
    campaign_id = await smtp_campaign(world, sink, RECIPIENTS, send_speed=SEND_SPEED)
    worker = Worker(env, threads=THREADS)
    try:
        await send(world, campaign_id)
        await wait_until(
            lambda: _sent_at_least(world, campaign_id, RECIPIENTS // 4), within=60, step=0.05
        )
        stack.stop_postgres()
        assert await _api_status(world, campaign_id) == 503
        await asyncio.sleep(2.0)
        assert await _api_status(world, campaign_id) == 503
        stack.start_postgres()
        answers: list[int] = []
        await wait_until(lambda: _api_recovers(world, campaign_id, answers), within=30)
        # the first request may find only the pool's dead connections: a 503, not a 500
        assert set(answers) <= {200, 503}, answers
        progress = await _progress(world, campaign_id)
        if progress is None:  # the first read after the restart only finds dead connections
            progress = await _progress(world, campaign_id)
        assert progress is not None and progress[1] < RECIPIENTS
        woken: list[int] = []
        await wait_until(
            lambda: _reconciled_and_finished(private, campaign_id, woken), within=60, step=1
        )
        # the worker lived through the restart and finished the campaign itself
        assert worker.process.poll() is None
    finally:
        worker.stop()
    sent = await _assert_nobody_lost(world, sink, campaign_id)
    duplicated = {tracking_id for tracking_id, count in sent.items() if count > 1}
    flagged = await _flagged(world, campaign_id)
    assert duplicated <= flagged
    assert max(sent.values()) <= 2
    # at most the batches in flight when the server went away (one per worker thread)
    assert len(flagged) <= THREADS * BATCH


def _scheduler_slots(server: RedisServer) -> int:
    client = redis.Redis.from_url(server.url)
    try:
        return len(list(client.scan_iter("openmailer:scheduler:*")))
    finally:
        client.close()


def _start_scheduler(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "openmailer.adapters.cli", "scheduler"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


async def test_the_scheduler_outlives_a_redis_restart_and_enqueues_again(
    stack: Stack, env: dict[str, str]
) -> None:
    """What re-enqueues the lanes a Redis restart lost is the scheduler's reconcile job: the
    scheduler must still be running when Redis is back."""
    scheduler = _start_scheduler(env)
    try:

        async def slots_claimed() -> bool:
            return _scheduler_slots(stack.redis) > 0

        await wait_until(slots_claimed, within=30)
        stack.redis.kill()
        await asyncio.sleep(2.0)  # a few ticks with Redis gone
        stack.redis.start()
        assert _scheduler_slots(stack.redis) == 0
        await wait_until(slots_claimed, within=30)  # every job's slot enqueued again
        assert scheduler.poll() is None
    finally:
        scheduler.send_signal(signal.SIGTERM)
        try:
            scheduler.wait(timeout=30)
        except subprocess.TimeoutExpired:
            scheduler.kill()
            scheduler.wait()
    assert scheduler.returncode == 0
