"""dramatiq actors: thin, idempotent, taking ids and plain values only."""

from __future__ import annotations

import asyncio
from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from openmailer.adapters.workers.heartbeats import record_heartbeat


def _redis() -> Any:
    broker = dramatiq.get_broker()
    assert isinstance(broker, RedisBroker), "workers run on the Redis broker"
    return broker.client


@dramatiq.actor(queue_name="maintenance", max_retries=0, time_limit=10_000)
def heartbeat(enqueued_at: float) -> None:
    """Proves the queue path end to end: the scheduler enqueues, a worker records it."""
    record_heartbeat(_redis(), "worker", enqueued_at=enqueued_at)


@dramatiq.actor(queue_name="maintenance", max_retries=3, time_limit=120_000)
def flush_usage() -> None:
    """Move buffered rate-limit counts and API-key use from Redis to PostgreSQL, in aggregate."""
    from openmailer.adapters.bootstrap import open_resources
    from openmailer.adapters.redis.flush import flush_usage as flush

    async def run() -> None:
        async with open_resources() as resources:
            await flush(resources)

    asyncio.run(run())
