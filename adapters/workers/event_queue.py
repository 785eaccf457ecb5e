"""`DramatiqEventQueue`: wakes a worker for stored webhook events through the Redis broker.

Like the imports' queue (import_queue.py): the API process sends the `process_webhook_events`
message by name and queue, on a broker it makes on first use. A message lost here loses
nothing: the periodic `retry_webhook_events` reads unprocessed rows from PostgreSQL.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

import dramatiq

if TYPE_CHECKING:
    from dramatiq.brokers.redis import RedisBroker

PROCESS_EVENTS_ACTOR = "process_webhook_events"
RETRY_EVENTS_ACTOR = "retry_webhook_events"
EVENTS_QUEUE = "webhooks"


class DramatiqEventQueue:
    def __init__(self, redis_url: str) -> None:
        self._redis_url = redis_url
        self._broker: RedisBroker | None = None
        self._lock = threading.Lock()

    def _connected(self) -> RedisBroker:
        with self._lock:
            if self._broker is None:
                from dramatiq.brokers.redis import RedisBroker

                self._broker = RedisBroker(  # type: ignore[no-untyped-call]
                    url=self._redis_url, namespace="openmailer"
                )
                self._broker.declare_queue(EVENTS_QUEUE)
            return self._broker

    def enqueue(self, event_ids: Sequence[int]) -> None:
        message: dramatiq.Message[None] = dramatiq.Message(
            queue_name=EVENTS_QUEUE,
            actor_name=PROCESS_EVENTS_ACTOR,
            args=(list(event_ids),),
            kwargs={},
            options={},
        )
        self._connected().enqueue(message)


class NoEventQueue:
    """For a process without Redis: the periodic retry picks the events up."""

    def enqueue(self, event_ids: Sequence[int]) -> None:
        return None
