"""Login sessions in Redis (the schema has no sessions table).

`om:session:<sha256 of token>` holds the user id with the session's TTL; `om:user-sessions:<id>`
is the set of that user's session digests so all of them can be revoked at once.
"""

from __future__ import annotations

from redis.asyncio import Redis

from openmailer.adapters.redis import as_text


def _session_key(token_digest: str) -> str:
    return f"om:session:{token_digest}"


def _user_key(user_id: int) -> str:
    return f"om:user-sessions:{user_id}"


class RedisSessionStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def create(self, token_digest: str, user_id: int, *, ttl_seconds: int) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(_session_key(token_digest), user_id, ex=ttl_seconds)
            pipe.sadd(_user_key(user_id), token_digest)
            # Every session has the same lifetime, so the newest one expires last: the index
            # expires with it. (Plain EXPIRE: GT/NX need Redis 7, the embedded Redis is 6.2.)
            pipe.expire(_user_key(user_id), ttl_seconds)
            await pipe.execute()

    async def user_id_for(self, token_digest: str) -> int | None:
        value = await self._redis.get(_session_key(token_digest))
        return None if value is None else int(value)

    async def revoke(self, token_digest: str) -> None:
        user_id = await self.user_id_for(token_digest)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(_session_key(token_digest))
            if user_id is not None:
                pipe.srem(_user_key(user_id), token_digest)
            await pipe.execute()

    async def revoke_all(self, user_id: int, *, keep: str | None = None) -> None:
        digests = {as_text(d) for d in await self._redis.smembers(_user_key(user_id))}
        doomed = sorted(digests - {keep} if keep else digests)
        if not doomed:
            return
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(*[_session_key(d) for d in doomed])
            pipe.srem(_user_key(user_id), *doomed)
            await pipe.execute()
