"""Which failures mean "PostgreSQL or Redis is down", and logging each outage once.

A request that fails because a service is unreachable, refuses connections or does not answer in
time is answered 503 with `Retry-After` (adapters/http/errors.py). Every request fails the same
way during an outage, so the cause is logged once, then at most once a minute while it lasts,
never as a traceback per request.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information
import redis.exceptions
import sqlalchemy.exc

DATABASE = "database"
REDIS = "redis"
RETRY_AFTER_SECONDS = 5
RELOG_INTERVAL_SECONDS = 60.0
log = logging.getLogger("openmailer.http.outages")

_DATABASE_DOWN = (
    asyncpg.exceptions.PostgresConnectionError,  # class 08: the connection failed or was lost
    asyncpg.exceptions.ConnectionDoesNotExistError,
    # class 57: starting up, shutting down, statement_timeout, database dropped
    asyncpg.exceptions.OperatorInterventionError,
    # class 53: too many connections, disk full, out of memory
    asyncpg.exceptions.InsufficientResourcesError,
    sqlalchemy.exc.TimeoutError,  # no pooled connection became free in time
)
_REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
# Client libraries whose plain OSError (refused, no such socket) or TimeoutError means their
# server is out of reach; the same exception raised by anything else is a bug, not an outage.
_CLIENT_MODULES = {"asyncpg": DATABASE, "sqlalchemy": DATABASE, "redis": REDIS}


@dataclass(frozen=True)
class Outage:
    service: str  # DATABASE or REDIS
    cause: BaseException

    def describe(self) -> str:
        text = str(self.cause) or "no answer in time"
        return f"{type(self.cause).__name__}: {text}"[:300]


def service_address(resources: Any, service: str) -> str:
    """Where the process looks for the service (never a password): a timeout alone names no
    host, and the operator's first question is which server."""
    if service == DATABASE:
        return str(resources.engine.url.render_as_string(hide_password=True))
    options = resources.redis.connection_pool.connection_kwargs
    if "path" in options:
        return f"unix://{options['path']}"
    return f"redis://{options.get('host')}:{options.get('port')}/{options.get('db', 0)}"


def outage_of(error: BaseException) -> Outage | None:
    """The outage behind `error` (itself or what caused it), or None for any other failure."""
    for exc in _causes(error):
        service = _service_down(exc)
        if service is not None:
            return Outage(service, exc)
    return None


def _service_down(exc: BaseException) -> str | None:
    if isinstance(exc, _REDIS_DOWN):
        return REDIS
    if isinstance(exc, _DATABASE_DOWN):
        return DATABASE
    if isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.connection_invalidated:
        return DATABASE
    if isinstance(exc, OSError):  # TimeoutError (asyncio's too) and ConnectionRefusedError
        # asyncio.timeout() raises its TimeoutError from the cancelled call: look there too
        return next(filter(None, map(_raised_by_client, _causes(exc))), None)
    return None


def _raised_by_client(exc: BaseException) -> str | None:
    """The service whose client library the exception passed through, innermost first."""
    for frame, _ in reversed(list(traceback.walk_tb(exc.__traceback__))):
        package = str(frame.f_globals.get("__name__", "")).partition(".")[0]
        if package in _CLIENT_MODULES:
            return _CLIENT_MODULES[package]
    return None


def _causes(error: BaseException, limit: int = 10) -> Iterator[BaseException]:
    """`error`, then what it wraps: SQLAlchemy's `orig`, then `__cause__` or `__context__`."""
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending and len(seen) < limit:
        exc = pending.pop(0)
        if id(exc) in seen:
            continue
        seen.add(id(exc))
        yield exc
        wrapped: Any = getattr(exc, "orig", None)
        pending.extend(
            candidate
            for candidate in (wrapped, exc.__cause__ or exc.__context__)
            if isinstance(candidate, BaseException)
        )


@dataclass
class OutageLog:
    """Logs an outage's cause on its first failed request, then at most once per `interval`
    seconds per service, with how many requests failed in between."""

    interval: float = RELOG_INTERVAL_SECONDS
    clock: Callable[[], float] = time.monotonic
    _logged_at: dict[str, float] = field(default_factory=dict)
    _unlogged: dict[str, int] = field(default_factory=dict)

    def record(self, outage: Outage, address: str) -> None:
        now = self.clock()
        last = self._logged_at.get(outage.service)
        if last is not None and now - last < self.interval:
            self._unlogged[outage.service] = self._unlogged.get(outage.service, 0) + 1
            return
        self._logged_at[outage.service] = now
        log.warning(
            "%s at %s unavailable, answering 503: %s",
            outage.service,
            address,
            outage.describe(),
            extra={
                "service": outage.service,
                "address": address,
                "cause": outage.describe(),
                "failed_requests_since_last_log": self._unlogged.pop(outage.service, 0),
            },
        )


def outage_log_of(state: Any) -> OutageLog:
    """The app's own log (its `state`), so that apps in one process do not silence each other."""
    outage_log: OutageLog | None = state.get("outage_log")
    if outage_log is None:
        outage_log = state["outage_log"] = OutageLog()
    return outage_log
