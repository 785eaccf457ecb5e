"""The worker and scheduler processes' jobs on a real Redis broker."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import redis
from dramatiq import Worker

from openmailer.adapters.bootstrap import configure_broker
from openmailer.adapters.settings import load_settings
from openmailer.adapters.workers.heartbeats import HEARTBEATS_KEY
from openmailer.adapters.workers.scheduler import PeriodicJob, enqueue_due

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
    jobs = [PeriodicJob("every-ten", 10, lambda: enqueued.append("every-ten"))]

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
    from openmailer.adapters.workers import actors

    broker.declare_actor(actors.heartbeat)  # actors bind to the broker current at import
    broker.flush_all()
    worker = Worker(broker, worker_threads=1)
    worker.start()
    try:
        actors.heartbeat.send(123.0)
        broker.join(actors.heartbeat.queue_name, timeout=20_000)
        worker.join()
    finally:
        worker.stop()
        broker.close()

    record = json.loads(client.hget(HEARTBEATS_KEY, "worker") or b"{}")
    assert record["enqueued_at"] == 123.0
    assert record["at"] >= 123.0
