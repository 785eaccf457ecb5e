"""The Redis circuit breaker and provider limits on a real Redis, with a clock the tests step:
transitions, one probe among concurrent callers, and limits that concurrent takers never pass."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from openmailer.adapters.bootstrap import create_redis
from openmailer.adapters.redis.circuit_breaker import RedisCircuitBreaker
from openmailer.adapters.redis.provider_limits import RedisProviderLimits
from openmailer.core.sending.model import BreakerTransition
from tests.unit.sending.test_chain import provider

pytestmark = pytest.mark.integration


class SteppedClock:
    def __init__(self, start: datetime) -> None:
        self.moment = start

    def now(self) -> datetime:
        return self.moment

    def step(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = create_redis(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def other_redis(redis_url: str) -> AsyncIterator[Redis]:
    """Another connection pool: what a second worker process would hold."""
    client = create_redis(redis_url)
    yield client
    await client.aclose()


def tomorrow_at(hour: int, minute: int) -> datetime:
    """Counters expire at their period's end by Redis' clock: test periods lie in the future."""
    day = datetime.now(UTC) + timedelta(days=1)
    return day.replace(hour=hour, minute=minute, second=0, microsecond=0)


def new_provider_id() -> int:
    # Far above the ids the test database hands out, and different in every test.
    return 10**9 + secrets.randbelow(10**9)


async def test_n_failures_in_a_row_open_the_breaker_and_a_success_resets_the_count(
    redis: Redis,
) -> None:
    clock = SteppedClock(datetime(2026, 12, 1, 12, 0, tzinfo=UTC))
    breaker = RedisCircuitBreaker(redis, clock, failure_threshold=3, cooldown_seconds=30)
    pid = new_provider_id()
    assert await breaker.record_failure(pid, probe=False) is None
    assert await breaker.record_failure(pid, probe=False) is None
    assert await breaker.record_success(pid, probe=False) is None  # the run is broken
    assert await breaker.record_failure(pid, probe=False) is None
    assert await breaker.record_failure(pid, probe=False) is None
    assert (await breaker.admit(pid)).allowed
    assert await breaker.record_failure(pid, probe=False) is BreakerTransition.OPENED
    # While open: nobody is let through, and late failures change nothing.
    assert not (await breaker.admit(pid)).allowed
    assert await breaker.record_failure(pid, probe=False) is None
    clock.step(29)
    assert not (await breaker.admit(pid)).allowed


async def test_after_the_cooldown_exactly_one_of_many_concurrent_callers_probes(
    redis: Redis, other_redis: Redis
) -> None:
    clock = SteppedClock(datetime(2026, 12, 1, 12, 0, tzinfo=UTC))
    breaker = RedisCircuitBreaker(redis, clock, failure_threshold=1, cooldown_seconds=30)
    # A second breaker on its own connections stands for another worker process.
    other = RedisCircuitBreaker(other_redis, clock, failure_threshold=1)
    pid = new_provider_id()
    await breaker.record_failure(pid, probe=False)
    clock.step(31)
    admissions = await asyncio.gather(
        *[(breaker if n % 2 else other).admit(pid) for n in range(20)]
    )
    assert sum(a.allowed for a in admissions) == 1
    assert [a.probe for a in admissions if a.allowed] == [True]

    # The probe failed: open again for a whole cool-down.
    assert await breaker.record_failure(pid, probe=True) is BreakerTransition.OPENED
    clock.step(29)
    assert not (await breaker.admit(pid)).allowed
    clock.step(2)
    probe = await other.admit(pid)
    assert probe.allowed and probe.probe
    # A success that is not the probe's (a send admitted before it opened) does not close it.
    assert await breaker.record_success(pid, probe=False) is None
    assert not (await breaker.admit(pid)).allowed
    assert await other.record_success(pid, probe=True) is BreakerTransition.CLOSED
    assert all([(await breaker.admit(pid)).allowed for _ in range(3)])
    assert not (await breaker.admit(pid)).probe


async def test_a_probe_that_never_answers_lets_another_probe_after_its_timeout(
    redis: Redis,
) -> None:
    clock = SteppedClock(datetime(2026, 12, 1, 12, 0, tzinfo=UTC))
    breaker = RedisCircuitBreaker(
        redis, clock, failure_threshold=1, cooldown_seconds=1, probe_timeout_seconds=0.2
    )
    pid = new_provider_id()
    await breaker.record_failure(pid, probe=False)
    clock.step(2)
    assert (await breaker.admit(pid)).probe
    assert not (await breaker.admit(pid)).allowed
    await asyncio.sleep(0.3)  # the claim's expiry is Redis' own time
    assert (await breaker.admit(pid)).probe


async def test_concurrent_takes_never_pass_the_daily_limit_and_give_backs_return_room(
    redis: Redis, other_redis: Redis
) -> None:
    clock = SteppedClock(tomorrow_at(23, 59))
    limits = RedisProviderLimits(redis, clock)
    other = RedisProviderLimits(other_redis, clock)
    capped = provider(new_provider_id(), daily_limit=50, monthly_limit=1000)
    grants = await asyncio.gather(
        *[(limits if n % 2 else other).take(capped, 3) for n in range(40)]
    )
    assert sum(g.granted for g in grants) == 50
    assert max(g.granted for g in grants) <= 3
    assert (await limits.take(capped, 1)).granted == 0
    await limits.give_back(next(g for g in grants if g.granted == 3), 2)
    assert (await limits.take(capped, 5)).granted == 2

    # A new UTC day has room again; the month keeps counting.
    clock.step(120)
    assert (await limits.take(capped, 10)).granted == 10
    month = [key async for key in redis.scan_iter(f"om:pl:{capped.id}:m:*")]
    assert [int(await redis.get(key) or 0) for key in month] == [60]
    next_day = f"om:pl:{capped.id}:d:{clock.now():%Y%m%d}"
    assert int(await redis.get(next_day) or 0) == 10
    # It expires an hour after the day it counts ends.
    day_end = clock.now().replace(hour=0, minute=0) + timedelta(days=1, hours=1)
    expected = (day_end - datetime.now(UTC)).total_seconds()
    assert abs(await redis.ttl(next_day) - expected) < 5


async def test_the_monthly_limit_caps_a_take_and_unlimited_providers_are_still_counted(
    redis: Redis,
) -> None:
    in_two_months = datetime.now(UTC).replace(day=1) + timedelta(days=62)
    clock = SteppedClock(
        in_two_months.replace(day=1, hour=0, minute=0, second=0, microsecond=0) - timedelta(hours=1)
    )
    limits = RedisProviderLimits(redis, clock)
    monthly = provider(new_provider_id(), monthly_limit=7)
    assert (await limits.take(monthly, 5)).granted == 5
    clock.step(60)
    assert (await limits.take(monthly, 5)).granted == 2
    clock.step(3600)  # a new month
    assert (await limits.take(monthly, 5)).granted == 5

    free = provider(new_provider_id())
    assert (await limits.take(free, 1000)).granted == 1000
    assert int(await redis.get(f"om:pl:{free.id}:d:{clock.now():%Y%m%d}") or 0) == 1000
