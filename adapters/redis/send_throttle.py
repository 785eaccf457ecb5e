"""`RedisSendThrottle`: each campaign's `send_speed` (messages per second, for the campaign
across every worker) as one token bucket in Redis.

`om:cs:<campaign id>` holds the tokens left and when they were counted. The bucket holds one
second of sends and refills at `send_speed` per second; one Lua call refills, grants what is
there (up to the batch asked for) and says how long until the next token, so workers taking at
once never pass the rate together. The time is Redis's own (`TIME`): workers' clocks may differ.
"""

from __future__ import annotations

from redis.asyncio import Redis

IDLE_EXPIRY_SECONDS = 60

_TAKE = """
local rate = tonumber(ARGV[1])
local want = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = rate
  at = now
end
tokens = math.min(rate, tokens + math.max(0, now - at) * rate)
local granted = math.min(want, math.floor(tokens))
tokens = tokens - granted
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
local wait = 0
if granted < want then
  wait = (1 - (tokens - math.floor(tokens))) / rate
end
return {granted, tostring(wait)}
"""


class RedisSendThrottle:
    def __init__(self, redis: Redis) -> None:
        self._take = redis.register_script(_TAKE)

    async def take(self, campaign_id: int, per_second: int, want: int) -> tuple[int, float]:
        if want <= 0 or per_second <= 0:
            return 0, 1.0
        granted, wait = await self._take(
            keys=[f"om:cs:{campaign_id}"], args=[per_second, want, IDLE_EXPIRY_SECONDS]
        )
        return int(granted), float(wait)
