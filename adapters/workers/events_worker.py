"""The provider-event actors' runtime: ONE asyncio event loop per worker process, on a thread
of its own, with the events service (its engine and pooled connections) opened on it once per
database URL.

Before, each `process_webhook_events` message ran `asyncio.run` and opened an engine and a
connection of its own: ~10 ms of the worker's CPU per message, several times what applying
the message's events costs (benchmarks/provider_events.py, `actor_as_woken`). As in
campaign_worker.py, dramatiq runs each message on one of its worker threads and the actor hands
its coroutine to the process loop (`run_coroutine_threadsafe`); the loop starts lazily in the
process that first needs it, since dramatiq forks its worker processes and a loop or a
connection must not cross a fork. The service is keyed by the settings' database URL, so a
process whose environment names another database (a test's) gets a service of its own.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

from openmailer.adapters.bootstrap.resources import DatabaseResources, create_service_engine
from openmailer.adapters.settings import load_settings
from openmailer.core.events.service import EventsService

_T = TypeVar("_T")
# Each call waits at most this long; the actors' own time limit (300 s) is above it.
CALL_TIMEOUT_SECONDS = 240.0


class _EventsRuntime:
    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        self._services: dict[str, EventsService] = {}
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="webhook-events-loop", daemon=True
        )
        self._thread.start()

    def _service(self) -> EventsService:
        """Runs on the loop: the service for the database the environment names now."""
        from openmailer.adapters.bootstrap import build_events
        from openmailer.adapters.bootstrap.resources import require_database_url

        settings = load_settings()
        url = require_database_url(settings)
        service = self._services.get(url)
        if service is None:
            engine = create_service_engine(url, settings)
            service = build_events(DatabaseResources(settings, engine))
            self._services[url] = service
        return service

    def run(self, work: Callable[[EventsService], Awaitable[_T]], timeout: float) -> _T:
        async def call() -> _T:
            return await work(self._service())

        return asyncio.run_coroutine_threadsafe(call(), self.loop).result(timeout=timeout)


_runtime: _EventsRuntime | None = None
_runtime_lock = threading.Lock()


def run_on_events_loop(
    work: Callable[[EventsService], Awaitable[_T]], timeout: float = CALL_TIMEOUT_SECONDS
) -> _T:
    global _runtime
    with _runtime_lock:
        if _runtime is None or _runtime.pid != os.getpid():  # first use, or a forked child
            _runtime = _EventsRuntime()
        runtime = _runtime
    return runtime.run(work, timeout)
