"""dramatiq actors, declared from what the areas registered: thin, taking ids and plain values."""

from __future__ import annotations

from typing import Any

import dramatiq

from openmailer.core.areas import ActorSpec
from openmailer.core.registry import Registry

Actors = dict[str, dramatiq.Actor[Any, Any]]


def declare_actors(registry: Registry[ActorSpec], broker: dramatiq.Broker) -> Actors:
    """Every registered actor on `broker`, by name. Workers declare them to run them, schedulers
    and API processes to enqueue them; the names are the queue's contract, so keep them stable."""
    return {
        entry.key: dramatiq.Actor(
            entry.value.function,
            broker=broker,
            actor_name=entry.key,
            queue_name=entry.value.queue,
            priority=0,
            options={
                "max_retries": entry.value.max_retries,
                "time_limit": entry.value.time_limit_ms,
            },
        )
        for entry in registry.entries()
    }
