"""`flush_usage`: moves buffered usage from Redis to PostgreSQL in aggregate.

Called periodically by the scheduler. Rate-limit window counts go to `rate_limits` (one upsert per
user, resource and window, adding to what an earlier flush wrote); API key uses go to
`api_keys.last_used_at`. Each buffer is renamed away atomically first, so hits counted during the
flush land in a fresh buffer; if the database write fails the counts are merged back.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import cast

from redis.asyncio import Redis
from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert

from openmailer.adapters.bootstrap import Resources
from openmailer.adapters.db.api_keys import SqlAlchemyApiKeyRepository
from openmailer.adapters.db.tables.users import RateLimit
from openmailer.adapters.db.users import USERS
from openmailer.adapters.redis import as_text
from openmailer.adapters.redis.api_key_usage import LAST_USED_HASH
from openmailer.adapters.redis.rate_limiter import AUDIT_HASH

RATE_LIMITS = cast(Table, RateLimit.__table__)  # a mapped class's __table__ is typed FromClause


async def flush_usage(resources: Resources) -> tuple[int, int]:
    """(rate-limit windows written, API keys updated)."""
    return await _flush_rate_limits(resources), await _flush_last_used(resources)


async def _take(redis: Redis, name: str) -> tuple[str, dict[str, str]]:
    taken = f"{name}:flushing:{secrets.token_hex(4)}"
    try:
        await redis.rename(name, taken)
    except Exception as error:  # redis answers "no such key" when nothing was buffered
        if "no such key" in str(error).lower():
            return taken, {}
        raise
    raw = await redis.hgetall(taken)
    return taken, {as_text(k): as_text(v) for k, v in raw.items()}


async def _flush_rate_limits(resources: Resources) -> int:
    taken, counts = await _take(resources.redis, AUDIT_HASH)
    if not counts:
        return 0
    rows = []
    for field, count in counts.items():
        user_id, resource_type, window_start, window_seconds, limit = field.split("|")
        start = datetime.fromtimestamp(int(window_start), UTC).replace(tzinfo=None)
        rows.append(
            {
                "user_id": int(user_id),
                "resource_type": resource_type,
                "window_start": start,
                "window_end": start + timedelta(seconds=int(window_seconds)),
                "request_count": int(count),
                "limit_value": int(limit),
            }
        )
    statement = insert(RATE_LIMITS)
    statement = statement.on_conflict_do_update(
        constraint="unique_rate_limit_window",
        set_={
            "request_count": RATE_LIMITS.c.request_count + statement.excluded.request_count,
            "limit_value": statement.excluded.limit_value,
        },
    )
    try:
        async with resources.engine.begin() as conn:
            existing = set(
                (
                    await conn.execute(
                        select(USERS.c.id).where(USERS.c.id.in_({row["user_id"] for row in rows}))
                    )
                ).scalars()
            )
            live_rows = [row for row in rows if row["user_id"] in existing]  # deleted users
            if live_rows:
                await conn.execute(statement, live_rows)
    except Exception:
        await _merge_back_counts(resources.redis, counts)
        raise
    finally:
        await resources.redis.delete(taken)
    return len(live_rows)


async def _merge_back_counts(redis: Redis, counts: dict[str, str]) -> None:
    async with redis.pipeline(transaction=False) as pipe:
        for field, count in counts.items():
            pipe.hincrby(AUDIT_HASH, field, int(count))
        await pipe.execute()


# A key used again during the failed flush has a newer stamp in the live hash: keep the newest.
_KEEP_NEWEST = """
for i = 1, #ARGV, 2 do
  local current = redis.call('HGET', KEYS[1], ARGV[i])
  if not current or tonumber(current) < tonumber(ARGV[i + 1]) then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
"""


async def _merge_back_newest(redis: Redis, stamps: dict[str, str]) -> None:
    arguments = [item for pair in stamps.items() for item in pair]
    await redis.eval(_KEEP_NEWEST, 1, LAST_USED_HASH, *arguments)


async def _flush_last_used(resources: Resources) -> int:
    taken, stamps = await _take(resources.redis, LAST_USED_HASH)
    if not stamps:
        return 0
    last_used = {int(k): datetime.fromtimestamp(float(v), UTC) for k, v in stamps.items()}
    try:
        await SqlAlchemyApiKeyRepository(resources.engine).record_last_used(last_used)
    except Exception:
        await _merge_back_newest(resources.redis, stamps)
        raise
    finally:
        await resources.redis.delete(taken)
    return len(last_used)
