"""The worker and scheduler processes' jobs on a real Redis broker."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import asyncpg
import pytest
import redis
from dramatiq import Worker

from openmailer.adapters.bootstrap import builtin_areas, configure_broker
from openmailer.adapters.redis.rate_limiter import AUDIT_HASH
from openmailer.adapters.settings import load_settings
from openmailer.adapters.workers.actors import declare_actors
from openmailer.adapters.workers.heartbeats import HEARTBEATS_KEY
from openmailer.adapters.workers.scheduler import ScheduledJob, enqueue_due

pytestmark = pytest.mark.integration


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_url)
    connection.delete(HEARTBEATS_KEY, *connection.keys("openmailer:scheduler:*"))
    yield connection
    connection.delete(HEARTBEATS_KEY, *connection.keys("openmailer:scheduler:*"))
    connection.close()


def test_each_job_is_enqueued_once_per_slot_across_schedulers(client: redis.Redis) -> None:
    enqueued: list[str] = []
    jobs = [ScheduledJob("every-ten", 10, lambda: enqueued.append("every-ten"))]

    first_scheduler = enqueue_due(client, jobs, now=1000.0)
    second_scheduler = enqueue_due(client, jobs, now=1003.0)  # same 10-second slot
    next_slot = enqueue_due(client, jobs, now=1010.0)

    assert first_scheduler == ["every-ten"]
    assert second_scheduler == []
    assert next_slot == ["every-ten"]
    assert enqueued == ["every-ten", "every-ten"]


def test_a_worker_runs_the_heartbeat_job(
    client: redis.Redis, database_url: str, redis_url: str
) -> None:
    settings = load_settings(
        {"OPENMAILER_DATABASE_URL": database_url, "OPENMAILER_REDIS_URL": redis_url}
    )
    broker = configure_broker(settings)
    heartbeat = declare_actors(builtin_areas().actors, broker)["heartbeat"]
    broker.flush_all()
    worker = Worker(broker, worker_threads=1)
    worker.start()
    try:
        heartbeat.send(123.0)
        broker.join(heartbeat.queue_name, timeout=20_000)
        worker.join()
    finally:
        worker.stop()
        broker.close()

    record = json.loads(client.hget(HEARTBEATS_KEY, "worker") or b"{}")
    assert record["enqueued_at"] == 123.0
    assert record["at"] >= 123.0


def test_the_flush_usage_job_writes_buffered_counts_to_rate_limits(
    client: redis.Redis,
    migrated_database_url: str,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENMAILER_DATABASE_URL", migrated_database_url)
    monkeypatch.setenv("OPENMAILER_REDIS_URL", redis_url)
    user_id = asyncio.run(
        execute(
            migrated_database_url,
            "INSERT INTO users (username, email, password) "
            "VALUES ('flush-job', 'flush-job@example.com', 'x') RETURNING id",
        )
    )
    window_start = 1_790_000_040
    client.hset(AUDIT_HASH, f"{user_id}|API_REQUEST|{window_start}|60|300", 7)

    broker = configure_broker(load_settings())
    flush_usage = declare_actors(builtin_areas().actors, broker)["flush_usage"]
    worker = Worker(broker, worker_threads=1)
    worker.start()
    try:
        flush_usage.send()
        broker.join(flush_usage.queue_name, timeout=30_000)
        worker.join()
    finally:
        worker.stop()
        broker.close()

    count = asyncio.run(
        execute(
            migrated_database_url,
            f"SELECT request_count FROM rate_limits WHERE user_id = {int(user_id)} "
            "AND resource_type = 'API_REQUEST'",
        )
    )
    assert count == 7
    assert client.hlen(AUDIT_HASH) == 0


async def execute(database_url: str, query: str) -> object:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval(query)
    finally:
        await conn.close()
