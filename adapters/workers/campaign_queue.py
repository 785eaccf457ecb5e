"""`DramatiqCampaignQueue`: the campaign send path's wake-ups through the Redis broker, and a
Redis key per campaign that says a worker is on it.

Messages carry ids only (user, campaign): `start_campaign` prepares a started campaign, and
each `send_campaign_batch` claims and sends one batch (the worker claims: a late or repeated
message claims whatever is left). Like the import queue, a process that only enqueues (the API)
makes its broker on first use; the message names are the workers' contract.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import dramatiq
from redis.asyncio import Redis

if TYPE_CHECKING:
    from dramatiq.brokers.redis import RedisBroker

START_CAMPAIGN_ACTOR = "start_campaign"
SEND_BATCH_ACTOR = "send_campaign_batch"
CAMPAIGNS_QUEUE = "campaigns"
# Extends the key's life, never shortens it (a lane asleep for its backoff touched it longer).
_TOUCH = """
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
end
return 0
"""


class DramatiqCampaignQueue:
    def __init__(self, redis_url: str, redis: Redis) -> None:
        self._redis_url = redis_url
        self._redis = redis
        self._touch = redis.register_script(_TOUCH)
        self._broker: RedisBroker | None = None
        self._lock = threading.Lock()

    def _connected(self) -> RedisBroker:
        with self._lock:
            if self._broker is None:
                from dramatiq.brokers.redis import RedisBroker

                self._broker = RedisBroker(  # type: ignore[no-untyped-call]
                    url=self._redis_url, namespace="openmailer"
                )
                self._broker.declare_queue(CAMPAIGNS_QUEUE)
            return self._broker

    def _send(self, actor: str, user_id: int, campaign_id: int, delay_seconds: float) -> None:
        message: dramatiq.Message[None] = dramatiq.Message(
            queue_name=CAMPAIGNS_QUEUE,
            actor_name=actor,
            args=(user_id, campaign_id),
            kwargs={},
            options={},
        )
        delay = int(delay_seconds * 1000)
        self._connected().enqueue(message, delay=delay or None)

    def start(self, user_id: int, campaign_id: int) -> None:
        self._send(START_CAMPAIGN_ACTOR, user_id, campaign_id, 0.0)

    def batch(self, user_id: int, campaign_id: int, *, delay_seconds: float = 0.0) -> None:
        self._send(SEND_BATCH_ACTOR, user_id, campaign_id, delay_seconds)

    async def touch(self, campaign_id: int, seconds: float) -> None:
        await self._touch(keys=[f"om:cq:{campaign_id}"], args=[max(1, int(seconds * 1000))])

    async def is_active(self, campaign_id: int) -> bool:
        return bool(await self._redis.exists(f"om:cq:{campaign_id}"))
