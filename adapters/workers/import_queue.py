"""`DramatiqImportQueue`: hands an import job to a worker through the Redis broker.

The API process has no dramatiq broker of its own (it never runs actors), so the queue makes
one on first use and sends the `run_import` message the workers declared (by name and queue:
the message is the contract, as for every actor).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import dramatiq

if TYPE_CHECKING:
    from dramatiq.brokers.redis import RedisBroker

RUN_IMPORT_ACTOR = "run_import"
IMPORTS_QUEUE = "imports"


class DramatiqImportQueue:
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
                self._broker.declare_queue(IMPORTS_QUEUE)
            return self._broker

    def enqueue(self, job_id: int) -> None:
        message: dramatiq.Message[None] = dramatiq.Message(
            queue_name=IMPORTS_QUEUE,
            actor_name=RUN_IMPORT_ACTOR,
            args=(job_id,),
            kwargs={},
            options={},
        )
        self._connected().enqueue(message)


class NoQueue:
    """For a process that runs the job itself (`openmailer import`)."""

    def enqueue(self, job_id: int) -> None:
        return None
