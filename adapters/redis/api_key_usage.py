"""`last_used_at` of API keys, buffered in one Redis hash and flushed to PostgreSQL in aggregate."""

from __future__ import annotations

from datetime import UTC, datetime

from redis.asyncio import Redis

LAST_USED_HASH = "om:api-key-last-used"


class RedisApiKeyUsage:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def touch(self, key_id: int, at: datetime) -> None:
        await self._redis.hset(LAST_USED_HASH, str(key_id), f"{at.timestamp():.3f}")

    async def pending(self, key_ids: list[int]) -> dict[int, datetime]:
        if not key_ids:
            return {}
        values = await self._redis.hmget(LAST_USED_HASH, [str(key_id) for key_id in key_ids])
        return {
            key_id: datetime.fromtimestamp(float(value), UTC)
            for key_id, value in zip(key_ids, values, strict=True)
            if value is not None
        }
