"""Which failures count as an outage of PostgreSQL or Redis, and how often one is logged."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator

import asyncpg
import pytest
import redis.exceptions
import sqlalchemy.exc

from openmailer.adapters.http.outages import DATABASE, REDIS, Outage, OutageLog, outage_of

pytestmark = pytest.mark.unit


def caught(raise_it: Callable[[], object]) -> BaseException:
    try:
        raise_it()
    except BaseException as exc:
        return exc
    raise AssertionError("nothing was raised")


def raised_inside(module: str, error: BaseException) -> BaseException:
    """`error` as raised by code of `module`, e.g. asyncpg's connect."""
    namespace: dict[str, object] = {"__name__": module, "error": error}
    exec(compile("def connect():\n    raise error\n", module, "exec"), namespace)
    connect = namespace["connect"]
    assert callable(connect)
    return caught(connect)


def _raise(error: BaseException) -> None:
    raise error


def _raise_from(error: BaseException, cause: BaseException) -> None:
    raise error from cause


@pytest.mark.parametrize(
    ("error", "service"),
    [
        (redis.exceptions.ConnectionError("Error 111 connecting"), REDIS),
        (redis.exceptions.TimeoutError("Timeout reading from socket"), REDIS),
        (raised_inside("asyncpg.connect_utils", ConnectionRefusedError(111, "refused")), DATABASE),
        (raised_inside("asyncpg.connect_utils", FileNotFoundError(2, "no socket")), DATABASE),
        (raised_inside("asyncpg.connection", TimeoutError()), DATABASE),
        (raised_inside("redis.asyncio.connection", OSError("unreachable")), REDIS),
        (
            # asyncio.timeout() around a query: the TimeoutError comes from the cancelled call
            caught(
                lambda: _raise_from(
                    TimeoutError(),
                    raised_inside("asyncpg.connection", asyncio.CancelledError()),
                )
            ),
            DATABASE,
        ),
        (asyncpg.exceptions.CannotConnectNowError("the database system is starting up"), DATABASE),
        (asyncpg.exceptions.TooManyConnectionsError("too many clients"), DATABASE),
        (sqlalchemy.exc.TimeoutError("QueuePool limit reached"), DATABASE),
        (
            sqlalchemy.exc.DBAPIError(
                "SELECT 1", None, Exception("lost"), connection_invalidated=True
            ),
            DATABASE,
        ),
        (
            # SQLAlchemy's asyncpg dialect wraps a server-side statement timeout like this
            sqlalchemy.exc.DBAPIError(
                "SELECT 1",
                None,
                caught(
                    lambda: _raise_from(
                        Exception("canceling statement"),
                        asyncpg.exceptions.QueryCanceledError("canceling statement"),
                    )
                ),
            ),
            DATABASE,
        ),
        (
            caught(
                lambda: _raise_from(
                    RuntimeError("lookup failed"), redis.exceptions.ConnectionError()
                )
            ),
            REDIS,
        ),
    ],
)
def test_outages_are_recognised_with_their_service(error: BaseException, service: str) -> None:
    outage = outage_of(error)
    assert outage is not None
    assert outage.service == service


@pytest.mark.parametrize(
    "error",
    [
        # The same OSError types raised by anything but a database or Redis client are bugs.
        caught(lambda: _raise(FileNotFoundError(2, "template.html"))),
        caught(lambda: _raise(TimeoutError())),
        ValueError("bad"),
        sqlalchemy.exc.IntegrityError("INSERT", None, Exception("duplicate key")),
        asyncpg.exceptions.UniqueViolationError("duplicate key"),
    ],
)
def test_other_failures_are_not_outages(error: BaseException) -> None:
    assert outage_of(error) is None


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def warnings_logged() -> Iterator[list[logging.LogRecord]]:
    handler = Records()
    logger = logging.getLogger("openmailer.http.outages")
    logger.addHandler(handler)
    yield handler.records
    logger.removeHandler(handler)


def test_an_outage_is_logged_once_per_interval_with_the_requests_it_failed(
    warnings_logged: list[logging.LogRecord],
) -> None:
    clock = Clock()
    outage_log = OutageLog(interval=60.0, clock=clock)
    database_down = Outage(DATABASE, ConnectionRefusedError(111, "Connect call failed"))

    for second in (0.0, 1.0, 30.0):
        clock.now = second
        outage_log.record(database_down, "postgresql+asyncpg://db:5432/om")
    assert len(warnings_logged) == 1
    assert "ConnectionRefusedError" in warnings_logged[0].getMessage()
    assert "postgresql+asyncpg://db:5432/om" in warnings_logged[0].getMessage()

    outage_log.record(Outage(REDIS, redis.exceptions.ConnectionError()), "redis://cache:6379/0")
    assert len(warnings_logged) == 2  # another service's outage is news

    clock.now = 61.0
    outage_log.record(database_down, "postgresql+asyncpg://db:5432/om")
    assert len(warnings_logged) == 3
    assert getattr(warnings_logged[2], "failed_requests_since_last_log", None) == 2
