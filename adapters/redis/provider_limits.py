"""Providers' daily and monthly limits as Redis counters shared by every worker.

`om:pl:<provider id>:d:<YYYYMMDD>` and `om:pl:<provider id>:m:<YYYYMM>` count the emails given
to the provider in that UTC day and month; each expires an hour after its period ends (late
give-backs still land, nothing lingers). One Lua call takes as many emails as both counters
have room for, so two workers taking at once never pass a limit together. Every take is
counted, limited or not, so a limit set mid-day already knows what the day sent.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from openmailer.core.ports.accounts import Clock
from openmailer.core.sending.model import LimitGrant, Provider

_GRACE = timedelta(hours=1)
_UNLIMITED = -1

_TAKE = """
local want = tonumber(ARGV[1])
local room = want
for i = 1, #KEYS do
  local limit = tonumber(ARGV[1 + i])
  if limit >= 0 then
    local used = tonumber(redis.call('GET', KEYS[i]) or '0')
    room = math.min(room, math.max(limit - used, 0))
  end
end
if room > 0 then
  for i = 1, #KEYS do
    redis.call('INCRBY', KEYS[i], room)
    redis.call('EXPIREAT', KEYS[i], ARGV[1 + #KEYS + i])
  end
end
return room
"""

_GIVE_BACK = """
local count = tonumber(ARGV[1])
for i = 1, #KEYS do
  local used = tonumber(redis.call('GET', KEYS[i]) or '0')
  if used > 0 then redis.call('DECRBY', KEYS[i], math.min(used, count)) end
end
return 0
"""


def _period_ends(now: datetime) -> tuple[datetime, datetime]:
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    next_day = day + timedelta(days=1)
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return next_day, day.replace(year=year, month=month, day=1)


class RedisProviderLimits:
    def __init__(self, redis: Redis, clock: Clock) -> None:
        self._clock = clock
        self._take = redis.register_script(_TAKE)
        self._give_back = redis.register_script(_GIVE_BACK)

    async def take(self, provider: Provider, count: int) -> LimitGrant:
        if count <= 0:
            return LimitGrant(provider.id, 0)
        now = self._clock.now().astimezone(UTC)
        day_end, month_end = _period_ends(now)
        counters = (
            f"om:pl:{provider.id}:d:{now:%Y%m%d}",
            f"om:pl:{provider.id}:m:{now:%Y%m}",
        )
        limits = [
            _UNLIMITED if limit is None else limit
            for limit in (provider.daily_limit, provider.monthly_limit)
        ]
        expiries = [int((end + _GRACE).timestamp()) for end in (day_end, month_end)]
        granted = await self._take(keys=list(counters), args=[count, *limits, *expiries])
        return LimitGrant(provider.id, int(granted), counters)

    async def give_back(self, grant: LimitGrant, count: int) -> None:
        if count > 0 and grant.counters:
            await self._give_back(keys=list(grant.counters), args=[min(count, grant.granted)])
