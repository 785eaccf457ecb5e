"""`BrokerMessages`: sends one actor's messages from a process that runs no actors.

An API process has no dramatiq broker of its own, so it makes one on first use and sends the
message the workers declared, by actor name and queue: the message is the contract, as for every
actor (import_queue.py, event_queue.py).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import dramatiq

if TYPE_CHECKING:
    from dramatiq.brokers.redis import RedisBroker


class BrokerMessages:
    def __init__(self, redis_url: str, *, queue: str, actor: str) -> None:
        self._redis_url = redis_url
        self._queue = queue
        self._actor = actor
        self._broker: RedisBroker | None = None
        self._lock = threading.Lock()

    def _connected(self) -> RedisBroker:
        with self._lock:
            if self._broker is None:
                from dramatiq.brokers.redis import RedisBroker

                self._broker = RedisBroker(  # type: ignore[no-untyped-call]
                    url=self._redis_url, namespace="openmailer"
                )
                self._broker.declare_queue(self._queue)
            return self._broker

    def send(self, *args: Any) -> None:
        message: dramatiq.Message[None] = dramatiq.Message(
            queue_name=self._queue, actor_name=self._actor, args=args, kwargs={}, options={}
        )
        self._connected().enqueue(message)
