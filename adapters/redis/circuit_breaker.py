"""Per-provider circuit breakers in Redis, shared by every API process and worker.

`om:cb:<provider id>` is a hash: `failures` (consecutive transient failures) and `open_until`
(milliseconds; absent while closed). `om:cb:<provider id>:probe` is the half-open probe's claim,
taken with SET NX so that one caller, whichever process it runs in, probes after the cool-down;
it expires after `probe_timeout_ms`, so a prober that died does not hold the circuit open. Each
transition is one Lua call, hence atomic. Time comes from the injected clock (tests step it;
processes on one NTP-synchronised network agree to well under a cool-down).
"""

from __future__ import annotations

from redis.asyncio import Redis

from openmailer.core.ports.accounts import Clock
from openmailer.core.sending.model import BreakerAdmission, BreakerTransition

DEFAULT_FAILURE_THRESHOLD = 5
DEFAULT_COOLDOWN_SECONDS = 30.0
# A closed circuit's failure count is forgotten after this long without a failure.
_FORGET_MS = 3_600_000

_ADMIT = """
local open_until = tonumber(redis.call('HGET', KEYS[1], 'open_until') or '0')
if open_until == 0 then return 1 end
if tonumber(ARGV[1]) < open_until then return 0 end
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[2]) then return 2 end
return 0
"""

_FAILURE = """
local now, threshold, cooldown = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local open_until = tonumber(redis.call('HGET', KEYS[1], 'open_until') or '0')
if open_until ~= 0 then
  if ARGV[4] == '1' then
    redis.call('HSET', KEYS[1], 'open_until', now + cooldown)
    redis.call('PEXPIRE', KEYS[1], cooldown + tonumber(ARGV[5]))
    redis.call('DEL', KEYS[2])
    return 1
  end
  return 0
end
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[5])
if failures >= threshold then
  redis.call('HSET', KEYS[1], 'open_until', now + cooldown)
  redis.call('PEXPIRE', KEYS[1], cooldown + tonumber(ARGV[5]))
  return 1
end
return 0
"""

_SUCCESS = """
local open_until = tonumber(redis.call('HGET', KEYS[1], 'open_until') or '0')
if open_until ~= 0 then
  if ARGV[1] == '1' then
    redis.call('DEL', KEYS[1], KEYS[2])
    return 1
  end
  return 0
end
if redis.call('HGET', KEYS[1], 'failures') then redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisCircuitBreaker:
    def __init__(
        self,
        redis: Redis,
        clock: Clock,
        *,
        failure_threshold: int = DEFAULT_FAILURE_THRESHOLD,
        cooldown_seconds: float = DEFAULT_COOLDOWN_SECONDS,
        probe_timeout_seconds: float | None = None,
    ) -> None:
        self._clock = clock
        self._threshold = failure_threshold
        self._cooldown_ms = max(1, int(cooldown_seconds * 1000))
        # A probe is one send: bounded like a transactional delivery unless told otherwise.
        self._probe_ms = max(1, int((probe_timeout_seconds or cooldown_seconds) * 1000))
        self._admit = redis.register_script(_ADMIT)
        self._failure = redis.register_script(_FAILURE)
        self._success = redis.register_script(_SUCCESS)

    @staticmethod
    def _keys(provider_id: int) -> list[str]:
        return [f"om:cb:{provider_id}", f"om:cb:{provider_id}:probe"]

    def _now_ms(self) -> int:
        return int(self._clock.now().timestamp() * 1000)

    async def admit(self, provider_id: int) -> BreakerAdmission:
        answer = int(
            await self._admit(keys=self._keys(provider_id), args=[self._now_ms(), self._probe_ms])
        )
        return BreakerAdmission(allowed=answer > 0, probe=answer == 2)

    async def record_failure(self, provider_id: int, *, probe: bool) -> BreakerTransition | None:
        opened = await self._failure(
            keys=self._keys(provider_id),
            args=[self._now_ms(), self._threshold, self._cooldown_ms, int(probe), _FORGET_MS],
        )
        return BreakerTransition.OPENED if int(opened) else None

    async def record_success(self, provider_id: int, *, probe: bool) -> BreakerTransition | None:
        closed = await self._success(keys=self._keys(provider_id), args=[int(probe)])
        return BreakerTransition.CLOSED if int(closed) else None


BREAKER_STATES = ("closed", "open", "half_open")


async def breaker_states(
    redis: Redis, provider_ids: list[int], now_ms: int
) -> dict[int, tuple[str, int]]:
    """Provider id -> (state, consecutive transient failures), one pipelined read. `half_open`:
    the cool-down is over, and the next caller probes (or one is probing now)."""
    async with redis.pipeline(transaction=False) as pipe:
        for provider_id in provider_ids:
            pipe.hmget(RedisCircuitBreaker._keys(provider_id)[0], ["failures", "open_until"])
        replies = await pipe.execute()
    states: dict[int, tuple[str, int]] = {}
    for provider_id, (failures, open_until) in zip(provider_ids, replies, strict=True):
        count = int(failures or 0)
        if not open_until:
            states[provider_id] = ("closed", count)
        else:
            states[provider_id] = ("open" if now_ms < int(open_until) else "half_open", count)
    return states
