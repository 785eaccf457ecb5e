"""The provider-event actors' runtime: their process's event loop (`process_loop`), with the
events service (its engine and pooled connections) opened on it once per database URL."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from openmailer.adapters.bootstrap.resources import DatabaseResources, create_service_engine
from openmailer.adapters.settings import Settings
from openmailer.adapters.workers.process_loop import ProcessLoop
from openmailer.core.events.service import EventsService

_T = TypeVar("_T")
# Each call waits at most this long; the actors' own time limit (300 s) is above it.
CALL_TIMEOUT_SECONDS = 240.0


async def _open(settings: Settings) -> EventsService:
    from openmailer.adapters.bootstrap import build_events
    from openmailer.adapters.bootstrap.resources import require_database_url

    engine = create_service_engine(require_database_url(settings), settings)
    return build_events(DatabaseResources(settings, engine))


_events = ProcessLoop("webhook-events-loop", _open)


def run_on_events_loop(
    work: Callable[[EventsService], Awaitable[_T]], timeout: float = CALL_TIMEOUT_SECONDS
) -> _T:
    return _events.run(work, timeout)
