"""A lane's place in Redis: held by one chain's token at a time, renewed by it, free again when
the chain stops renewing it."""

from __future__ import annotations

import asyncio
import secrets

import pytest
from redis.asyncio import Redis

from openmailer.adapters.workers.campaign_queue import DramatiqCampaignQueue
from openmailer.core.ports.campaign_sending import Lane

pytestmark = pytest.mark.integration
HOLD = 2.0  # seconds; long beside the test's own steps, so a loaded machine cannot flake it


async def test_one_token_holds_a_lane_until_it_stops_renewing(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    queue = DramatiqCampaignQueue(redis_url, redis)
    campaign_id = secrets.randbelow(10**9) + 10**9  # no other test's campaign
    first, second = Lane(3, "first"), Lane(3, "second")
    try:
        assert await queue.hold_lane(campaign_id, first, HOLD)
        assert not await queue.hold_lane(campaign_id, second, HOLD)
        assert await queue.hold_lane(campaign_id, Lane(4, "second"), HOLD)  # another place
        assert await queue.hold_lane(campaign_id, first, HOLD)  # renewed by its own chain
        await asyncio.sleep(0.1)
        assert not await queue.hold_lane(campaign_id, second, HOLD)  # the renewal counted
        await asyncio.sleep(HOLD + 0.2)
        assert await queue.hold_lane(campaign_id, second, HOLD)  # the first chain ended
        assert not await queue.hold_lane(campaign_id, first, HOLD)
        await queue.release_lane(campaign_id, first)  # not first's: nothing given up
        assert not await queue.hold_lane(campaign_id, first, HOLD)
        await queue.release_lane(campaign_id, second)  # its chain ended: free at once
        assert await queue.hold_lane(campaign_id, first, HOLD)
    finally:
        await redis.delete(f"om:cl:{campaign_id}:3", f"om:cl:{campaign_id}:4")
        await redis.delete(f"om:cq:{campaign_id}")
        await redis.aclose()


async def test_holding_a_lane_marks_its_campaign_worked_on_in_the_same_call(
    redis_url: str,
) -> None:
    redis = Redis.from_url(redis_url)
    queue = DramatiqCampaignQueue(redis_url, redis)
    campaign_id = secrets.randbelow(10**9) + 10**9
    try:
        assert not await queue.is_active(campaign_id)
        assert await queue.hold_lane(campaign_id, Lane(0, "first"), HOLD)
        assert await queue.is_active(campaign_id)
        await queue.touch(campaign_id, 60)  # a lane asleep for its backoff
        assert not await queue.hold_lane(campaign_id, Lane(0, "second"), HOLD)
        assert await redis.pttl(f"om:cq:{campaign_id}") > HOLD * 1000  # never shortened
        await redis.delete(f"om:cq:{campaign_id}")
        # refused its lane, the run is still a worker on the campaign
        assert not await queue.hold_lane(campaign_id, Lane(0, "second"), HOLD)
        assert await queue.is_active(campaign_id)
    finally:
        await redis.delete(f"om:cl:{campaign_id}:0", f"om:cq:{campaign_id}")
        await redis.aclose()
