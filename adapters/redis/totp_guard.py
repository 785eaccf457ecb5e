"""The last TOTP time step each user has used, claimed atomically so a code works once."""

from __future__ import annotations

from redis.asyncio import Redis

# Long enough to outlive every step a code could still match (drift of one step either side).
_TTL_SECONDS = 24 * 3600

_CLAIM = """
local last = redis.call('GET', KEYS[1])
if last and tonumber(last) >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
"""


def _key(user_id: int) -> str:
    return f"om:totp-last-step:{user_id}"


class RedisTotpReplayGuard:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._claim = redis.register_script(_CLAIM)

    async def last_used_step(self, user_id: int) -> int | None:
        value = await self._redis.get(_key(user_id))
        return None if value is None else int(value)

    async def claim_step(self, user_id: int, step: int) -> bool:
        return bool(await self._claim(keys=[_key(user_id)], args=[step, _TTL_SECONDS]))

    async def forget(self, user_id: int) -> None:
        await self._redis.delete(_key(user_id))
