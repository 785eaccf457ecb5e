"""`DramatiqCampaignQueue`: the campaign send path's wake-ups through the Redis broker, and a
Redis key per campaign that says a worker is on it.

Messages carry ids only (user, campaign; a batch also its lane's place and token):
`start_campaign` prepares a started campaign, and each `send_campaign_batch` claims and sends one
batch (the worker claims: a late or repeated message claims whatever is left). A lane's place is
a Redis key holding the token of the chain that runs it (`hold_lane`). Like the import queue, a
process that only enqueues (the API) makes its broker on first use; the message names are the
workers' contract.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import dramatiq
from redis.asyncio import Redis

from openmailer.core.ports.campaign_sending import Lane

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
# The campaign's activity key touched as by _TOUCH, in the same round trip; then the lane taken
# when free or already this token's, refused when another chain's token holds it.
_HOLD_LANE = """
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
end
local held = redis.call('GET', KEYS[1])
if held and held ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""
_RELEASE_LANE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
return 0
"""


class DramatiqCampaignQueue:
    def __init__(self, redis_url: str, redis: Redis) -> None:
        self._redis_url = redis_url
        self._redis = redis
        self._touch = redis.register_script(_TOUCH)
        self._hold_lane = redis.register_script(_HOLD_LANE)
        self._release_lane = redis.register_script(_RELEASE_LANE)
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

    def _send(self, actor: str, args: tuple[int | str, ...], delay_seconds: float = 0.0) -> None:
        message: dramatiq.Message[None] = dramatiq.Message(
            queue_name=CAMPAIGNS_QUEUE,
            actor_name=actor,
            args=args,
            kwargs={},
            options={},
        )
        delay = int(delay_seconds * 1000)
        self._connected().enqueue(message, delay=delay or None)

    def start(self, user_id: int, campaign_id: int) -> None:
        self._send(START_CAMPAIGN_ACTOR, (user_id, campaign_id))

    def batch(
        self, user_id: int, campaign_id: int, *, lane: Lane | None, delay_seconds: float = 0.0
    ) -> None:
        lane_args = () if lane is None else (lane.index, lane.token)
        self._send(SEND_BATCH_ACTOR, (user_id, campaign_id, *lane_args), delay_seconds)

    async def hold_lane(self, campaign_id: int, lane: Lane, seconds: float) -> bool:
        held = await self._hold_lane(
            keys=[_lane_key(campaign_id, lane), _active_key(campaign_id)],
            args=[lane.token, max(1, int(seconds * 1000))],
        )
        return bool(held)

    async def release_lane(self, campaign_id: int, lane: Lane) -> None:
        await self._release_lane(keys=[_lane_key(campaign_id, lane)], args=[lane.token])

    async def touch(self, campaign_id: int, seconds: float) -> None:
        await self._touch(keys=[_active_key(campaign_id)], args=[max(1, int(seconds * 1000))])

    async def is_active(self, campaign_id: int) -> bool:
        return bool(await self._redis.exists(_active_key(campaign_id)))


def _active_key(campaign_id: int) -> str:
    return f"om:cq:{campaign_id}"


def _lane_key(campaign_id: int, lane: Lane) -> str:
    return f"om:cl:{campaign_id}:{lane.index}"
