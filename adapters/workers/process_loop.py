"""`ProcessLoop`: ONE asyncio event loop per worker process, on a thread of its own, and the
service an area's actors call, opened on it once per database.

dramatiq runs each message on one of its worker threads; an actor hands its coroutine to the
process loop and waits for it (`run_coroutine_threadsafe`). `asyncio.run` per message would
open a new loop each time, and the engine's and the providers' pooled connections, which belong
to the loop that opened them, could never be reused (for provider events that was ~10 ms of a
worker's CPU a message, several times what applying its events costs). The loop starts lazily
in the process that first needs it: dramatiq forks its worker processes, and a loop or a
connection must not cross a fork. The service is keyed by the database URL the environment
names when it is called, so a process whose environment names another database (a test's) gets
a service of its own.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from openmailer.adapters.settings import Settings, load_settings

_S = TypeVar("_S")
_T = TypeVar("_T")


class _Loop(Generic[_S]):
    """The loop of one process and the services opened on it."""

    def __init__(self, name: str) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        self._services: dict[str | None, asyncio.Future[_S]] = {}
        threading.Thread(target=self.loop.run_forever, name=name, daemon=True).start()

    def run(
        self,
        open_service: Callable[[Settings], Awaitable[_S]],
        work: Callable[[_S], Awaitable[_T]],
        timeout: float,
    ) -> _T:
        async def call() -> _T:
            settings = load_settings()
            opening = self._services.get(settings.database_url)
            if opening is None or (
                opening.done() and (opening.cancelled() or opening.exception() is not None)
            ):
                # one opening per database, which the calls that arrive meanwhile wait for; one
                # that failed (the database was down) is tried again by the next call
                opening = asyncio.ensure_future(open_service(settings))
                self._services[settings.database_url] = opening
            return await work(await asyncio.shield(opening))

        return asyncio.run_coroutine_threadsafe(call(), self.loop).result(timeout=timeout)


class ProcessLoop(Generic[_S]):
    """What an area's actors call: `run(work, timeout)` runs `work(service)` on this process's
    loop and answers its result; `open_service(settings)` builds the service (on the loop)."""

    def __init__(self, name: str, open_service: Callable[[Settings], Awaitable[_S]]) -> None:
        self._name = name
        self._open_service = open_service
        self._loop: _Loop[_S] | None = None
        self._lock = threading.Lock()

    def run(self, work: Callable[[_S], Awaitable[_T]], timeout: float) -> _T:
        with self._lock:
            if self._loop is None or self._loop.pid != os.getpid():  # first use, or a fork
                self._loop = _Loop(self._name)
            loop = self._loop
        return loop.run(self._open_service, work, timeout)
