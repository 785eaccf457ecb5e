"""When PostgreSQL refuses the flush, buffered usage goes back to Redis and loses nothing newer."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from openmailer.adapters.bootstrap import Resources, create_redis
from openmailer.adapters.db.engine import create_engine
from openmailer.adapters.redis.api_key_usage import LAST_USED_HASH
from openmailer.adapters.redis.flush import flush_usage
from openmailer.adapters.redis.rate_limiter import AUDIT_HASH
from openmailer.adapters.settings import load_settings

pytestmark = pytest.mark.integration


@pytest.fixture
async def unreachable_database(
    redis_url: str, postgres_server_url: str
) -> AsyncIterator[Resources]:
    base, _, query = postgres_server_url.partition("?")
    missing = (
        base.rsplit("/", 1)[0] + "/openmailer_no_such_database" + (f"?{query}" if query else "")
    )
    settings = load_settings(
        {"OPENMAILER_DATABASE_URL": missing, "OPENMAILER_REDIS_URL": redis_url}
    )
    resources = Resources(settings, create_engine(missing), create_redis(redis_url))
    await resources.redis.delete(LAST_USED_HASH, AUDIT_HASH)
    yield resources
    await resources.redis.delete(LAST_USED_HASH, AUDIT_HASH)
    await resources.aclose()


async def test_a_failed_flush_keeps_the_newest_use_of_each_key(
    unreachable_database: Resources,
) -> None:
    redis: Redis = unreachable_database.redis
    await redis.hset(LAST_USED_HASH, mapping={"5": "100.0", "6": "50.0"})

    original_take = redis.rename

    async def rename_then_use_key_5_again(source: str, destination: str) -> object:
        result = await original_take(source, destination)
        if source == LAST_USED_HASH:
            await redis.hset(LAST_USED_HASH, "5", "200.0")  # used again while the flush runs
        return result

    redis.rename = rename_then_use_key_5_again  # type: ignore[method-assign]
    with pytest.raises(Exception, match="openmailer_no_such_database"):
        await flush_usage(unreachable_database)

    stamps = await redis.hgetall(LAST_USED_HASH)
    assert stamps == {b"5": b"200.0", b"6": b"50.0"}
    assert [key async for key in redis.scan_iter(f"{LAST_USED_HASH}:flushing:*")] == []
