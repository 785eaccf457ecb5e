"""The tracking buffer: a Redis stream the public endpoints append to and the worker drains.

One `XADD` per hit, acknowledged by Redis before the response is sent; hits arriving while a
write is in flight go together in the next script call (a group commit: each request still
waits for its own hit to be stored, but concurrent requests share one round trip). The stream
is never trimmed by length (`MAXLEN` would drop hits no worker has applied yet): the worker deletes
entries (`XDEL`) only after acknowledging them, which it does only after PostgreSQL committed their
events. Entries read by a consumer that then died stay pending in the group and are taken over
(`XAUTOCLAIM`) once idle for `stale_after_ms`. The group is created at id 0, so entries added
before any worker ever ran are delivered too. How durable an acknowledged `XADD` is depends on
Redis' persistence (AOF `everysec` loses at most a second on a crash of Redis itself).
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from openmailer.core.tracking.model import BufferedHit, EventKind, Hit

STREAM_KEY = "om:tracking:hits"
GROUP = "appliers"
STALE_AFTER_MS = 60_000
HIT_FIELD = "h"
# One XADD per hit, all of a group commit's hits in one script: one command to pack and one
# reply to parse per round trip, not one of each per hit (EVALSHA; redis-py loads it again
# after a Redis restart). A script runs whole, and its XADDs replicate as themselves.
APPEND_ALL = """
for i = 1, #ARGV do
  redis.call('XADD', KEYS[1], '*', 'h', ARGV[i])
end
return #ARGV
"""
_hit_encoder = msgspec.json.Encoder()
_hit_decoder = msgspec.json.Decoder(
    tuple[str, str, int | None, int, str | None, str | None]  # encode_hit's order
)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def encode_hit(hit: Hit) -> bytes:
    """The entry's one field (`HIT_FIELD`), a JSON array: the public endpoints' path is where
    redis-py's argument-by-argument packing of six fields cost more than the rest of a hit."""
    return _hit_encoder.encode(
        (
            hit.kind.value,
            hit.tracking_id,
            hit.link_index,
            int(hit.occurred_at.timestamp() * 1_000_000),
            hit.ip_address,
            hit.user_agent,
        )
    )


def decode_hit(fields: dict[Any, Any]) -> Hit:
    values = {_text(key): value for key, value in fields.items()}
    if HIT_FIELD in values:
        kind, tracking_id, index, at, ip_address, user_agent = _hit_decoder.decode(
            values[HIT_FIELD]
        )
        return Hit(
            kind=EventKind(kind),
            tracking_id=tracking_id,
            link_index=index,
            occurred_at=datetime.fromtimestamp(at / 1_000_000, UTC),
            ip_address=ip_address or None,
            user_agent=user_agent or None,
        )
    return _decode_fielded_hit({key: _text(value) for key, value in values.items()})


def _decode_fielded_hit(values: dict[str, str]) -> Hit:
    """An entry written before hits were one field (still in a stream after an upgrade)."""
    index = values.get("i", "")
    return Hit(
        kind=EventKind(values["k"]),
        tracking_id=values["t"],
        link_index=int(index) if index else None,
        occurred_at=datetime.fromtimestamp(int(values["at"]) / 1_000_000, UTC),
        ip_address=values.get("ip") or None,
        user_agent=values.get("ua") or None,
    )


class RedisHitBuffer:
    def __init__(self, redis: Redis, *, stream: str = STREAM_KEY) -> None:
        self._redis = redis
        self._stream = stream
        self._waiting: list[tuple[bytes, asyncio.Future[None]]] = []
        self._append_all = redis.register_script(APPEND_ALL)
        self._writer: asyncio.Task[None] | None = None

    async def append(self, hit: Hit) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((encode_hit(hit), done))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_waiting())
        await done

    async def _write_waiting(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                try:
                    await self._append_all(keys=[self._stream], args=[hit for hit, _ in batch])
                except Exception as error:  # every waiting request fails with it (no event)
                    for _, done in batch:
                        if not done.done():
                            done.set_exception(error)
                else:
                    for _, done in batch:
                        if not done.done():
                            done.set_result(None)
        finally:
            self._writer = None


class RedisHitStream:
    """One consumer of the appliers' group; its name is its host and process."""

    def __init__(
        self,
        redis: Redis,
        *,
        stream: str = STREAM_KEY,
        consumer: str | None = None,
        stale_after_ms: int = STALE_AFTER_MS,
    ) -> None:
        self._redis = redis
        self._stream = stream
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}"
        self._stale_after_ms = stale_after_ms
        self._group_ready = False

    async def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            await self._redis.xgroup_create(self._stream, GROUP, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise
        self._group_ready = True

    async def claim_stale(self, count: int) -> list[BufferedHit]:
        await self._ensure_group()
        reply = await self._redis.xautoclaim(
            self._stream, GROUP, self.consumer, self._stale_after_ms, "0-0", count=count
        )
        entries = reply[1]
        return self._decoded(entries)

    async def read(self, count: int) -> list[BufferedHit]:
        await self._ensure_group()
        # RESP2's shape: [[stream, [(id, fields), ...]]] (the stubs also allow RESP3's dict)
        reply: Any = await self._redis.xreadgroup(
            GROUP, self.consumer, {self._stream: ">"}, count=count
        )
        if not reply:
            return []
        _, entries = reply[0]
        return self._decoded(entries)

    async def acknowledge(self, event_ids: Sequence[str]) -> None:
        if not event_ids:
            return
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xack(self._stream, GROUP, *event_ids)
            pipe.xdel(self._stream, *event_ids)
            await pipe.execute()

    def _decoded(self, entries: list[Any]) -> list[BufferedHit]:
        # An entry deleted while pending comes back without fields (None): nothing to apply.
        return [
            BufferedHit(event_id=_text(entry_id), hit=decode_hit(fields))
            for entry_id, fields in entries
            if fields
        ]


async def buffered_hits(redis: Redis, *, stream: str = STREAM_KEY) -> int:
    """Hits appended and not yet applied (entries are deleted once PostgreSQL has them)."""
    return int(await redis.xlen(stream))
