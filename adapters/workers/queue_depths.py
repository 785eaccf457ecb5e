"""How many messages each dramatiq queue holds, read from the Redis broker's own keys.

The broker (namespace `openmailer`) keeps per queue: `<ns>:<q>` the ids ready to be taken (a
list), `<ns>:<q>.msgs` every message not yet acknowledged (a hash: ready ones and those a
worker has fetched), `<ns>:<q>.DQ.msgs` the delayed ones (retries, backoffs), and `<ns>:<q>.XQ`
the dead-lettered ones (a sorted set, kept a week). One pipelined round trip for all queues.
"""

from __future__ import annotations

from collections.abc import Iterable

from redis.asyncio import Redis

BROKER_NAMESPACE = "openmailer"
QUEUE_STATES = ("ready", "in_progress", "delayed", "dead")


async def queue_depths(
    redis: Redis, queues: Iterable[str], *, namespace: str = BROKER_NAMESPACE
) -> dict[str, dict[str, int]]:
    """Queue -> state (QUEUE_STATES) -> messages."""
    names = sorted(set(queues))
    async with redis.pipeline(transaction=False) as pipe:
        for queue in names:
            key = f"{namespace}:{queue}"
            pipe.llen(key)
            pipe.hlen(f"{key}.msgs")
            pipe.hlen(f"{key}.DQ.msgs")
            pipe.zcard(f"{key}.XQ")
        replies = await pipe.execute()
    depths: dict[str, dict[str, int]] = {}
    for index, queue in enumerate(names):
        ready, unacknowledged, delayed, dead = (int(n) for n in replies[4 * index : 4 * index + 4])
        depths[queue] = {
            "ready": ready,
            # fetched by a worker (running, or prefetched) and not yet acknowledged
            "in_progress": max(0, unacknowledged - ready),
            "delayed": delayed,
            "dead": dead,
        }
    return depths
