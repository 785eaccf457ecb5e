"""Fixed-window rate limits in Redis, shared by every API process.

One Lua call per request counts the hit in `om:rl:<bucket>:<window start>` (Redis' own clock, so
processes agree on windows) and, for authenticated callers, adds one to the audit hash that
`flush_usage` later writes to the `rate_limits` table in aggregate.
"""

from __future__ import annotations

from redis.asyncio import Redis

from openmailer.core.ports.accounts import RateDecision

AUDIT_HASH = "om:rl-audit"
API_REQUEST = "API_REQUEST"

_HIT = """
local now = redis.call('TIME')
local window = tonumber(ARGV[2])
local window_start = math.floor(tonumber(now[1]) / window) * window
local counter = KEYS[1] .. ':' .. window_start
local count = redis.call('INCR', counter)
if count == 1 then redis.call('EXPIRE', counter, window + 5) end
if ARGV[3] ~= '' then
  local field = ARGV[3] .. '|' .. window_start .. '|' .. window .. '|' .. ARGV[1]
  redis.call('HINCRBY', KEYS[2], field, 1)
end
return {count, window_start + window - tonumber(now[1])}
"""

_PEEK = """
local now = redis.call('TIME')
local window = tonumber(ARGV[1])
local window_start = math.floor(tonumber(now[1]) / window) * window
local count = tonumber(redis.call('GET', KEYS[1] .. ':' .. window_start) or '0')
return {count, window_start + window - tonumber(now[1])}
"""


def audit_field(user_id: int, resource_type: str) -> str:
    return f"{user_id}|{resource_type}"


class RedisRateLimiter:
    def __init__(self, redis: Redis) -> None:
        self._hit = redis.register_script(_HIT)
        self._peek = redis.register_script(_PEEK)

    async def hit(
        self, bucket: str, *, limit: int, window_seconds: int, audit_user_id: int | None = None
    ) -> RateDecision:
        audit = "" if audit_user_id is None else audit_field(audit_user_id, API_REQUEST)
        count, reset = await self._hit(
            keys=[f"om:rl:{bucket}", AUDIT_HASH], args=[limit, window_seconds, audit]
        )
        return RateDecision(
            allowed=int(count) <= limit,
            limit=limit,
            remaining=max(limit - int(count), 0),
            reset_seconds=max(int(reset), 1),
        )

    async def peek(self, bucket: str, *, limit: int, window_seconds: int) -> RateDecision:
        count, reset = await self._peek(keys=[f"om:rl:{bucket}"], args=[window_seconds])
        return RateDecision(
            allowed=int(count) < limit,
            limit=limit,
            remaining=max(limit - int(count), 0),
            reset_seconds=max(int(reset), 1),
        )
