"""Each process's connections (PostgreSQL, Redis, the broker), the clock, and the registries
the installed plugins filled."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import dramatiq
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from openmailer.adapters.db.engine import create_engine
from openmailer.adapters.providers.pool import ProviderClientPool
from openmailer.adapters.settings import Settings, load_settings
from openmailer.core.areas import AreaRegistries
from openmailer.core.sending.chain import ProviderChain
from openmailer.plugins.manager import load_areas

if TYPE_CHECKING:
    from dramatiq.brokers.redis import RedisBroker


class ServicesNotConfiguredError(RuntimeError):
    """A process that needs PostgreSQL and Redis was started without their URLs."""


@dataclass
class DatabaseResources:
    """The PostgreSQL side of a process's connections: all that the database-only CLI needs."""

    settings: Settings
    engine: AsyncEngine

    async def aclose(self) -> None:
        await self.engine.dispose()


@dataclass
class Resources(DatabaseResources):
    """Long-lived connections of one process; closed together. `provider_chain` is built once
    per process (`build_provider_chain`) so that every service sending mail shares its pool of
    provider connections."""

    redis: Redis
    provider_chain: ProviderChain | None = None
    provider_clients: ProviderClientPool | None = None

    async def aclose(self) -> None:
        if self.provider_clients is not None:
            await self.provider_clients.aclose()
        await self.redis.aclose()
        await super().aclose()


def require_database_url(settings: Settings) -> str:
    if settings.database_url is None:
        raise ServicesNotConfiguredError(
            "OPENMAILER_DATABASE_URL must be set, e.g. postgresql://postgres@127.0.0.1:5432/openmailer"
        )
    return settings.database_url


def require_service_urls(settings: Settings) -> tuple[str, str]:
    if settings.database_url is None or settings.redis_url is None:
        missing = [
            name
            for name, value in (
                ("OPENMAILER_DATABASE_URL", settings.database_url),
                ("OPENMAILER_REDIS_URL", settings.redis_url),
            )
            if value is None
        ]
        raise ServicesNotConfiguredError(
            f"{' and '.join(missing)} must be set for this process; "
            "`openmailer up` starts embedded services and sets them for you"
        )
    return settings.database_url, settings.redis_url


def create_redis(redis_url: str, timeout: float = 3.0) -> Redis:
    """`timeout`: seconds to connect and per command (default: OPENMAILER_REDIS_TIMEOUT's)."""
    return Redis.from_url(redis_url, socket_timeout=timeout, socket_connect_timeout=timeout)


def create_service_engine(database_url: str, settings: Settings) -> AsyncEngine:
    """The engine of the processes and commands, with the settings' timeouts: an unreachable or
    silent PostgreSQL fails a request within seconds instead of holding it. (Migrations build
    their own engine: a schema change may rightly run longer than a statement timeout.)"""
    return create_engine(
        database_url,
        # waiting for a pooled connection is bounded like making one
        pool_timeout=settings.database_connect_timeout,
        connect_args={
            "timeout": settings.database_connect_timeout,
            # asyncpg's client-side limit: it also ends a wait on a server that stopped answering
            "command_timeout": settings.database_statement_timeout,
        },
    )


@asynccontextmanager
async def open_database(settings: Settings | None = None) -> AsyncIterator[DatabaseResources]:
    """PostgreSQL only, for commands that never touch Redis (`users`, `keys`)."""
    settings = settings or load_settings()
    engine = create_service_engine(require_database_url(settings), settings)
    database = DatabaseResources(settings, engine)
    try:
        yield database
    finally:
        await database.aclose()


@asynccontextmanager
async def open_resources(settings: Settings | None = None) -> AsyncIterator[Resources]:
    settings = settings or load_settings()
    database_url, redis_url = require_service_urls(settings)
    resources = Resources(
        settings,
        create_service_engine(database_url, settings),
        create_redis(redis_url, settings.redis_timeout),
    )
    try:
        yield resources
    finally:
        await resources.aclose()


def configure_broker(settings: Settings | None = None) -> RedisBroker:
    """Install the Redis broker as dramatiq's global broker; must run before actors are declared."""
    from dramatiq.brokers.redis import RedisBroker

    settings = settings or load_settings()
    _, redis_url = require_service_urls(settings)
    # dramatiq ships py.typed but leaves RedisBroker.__init__ unannotated
    broker = RedisBroker(url=redis_url, namespace="openmailer")  # type: ignore[no-untyped-call]
    dramatiq.set_broker(broker)
    return broker


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


# --- areas -----------------------------------------------------------------------------------


@functools.cache
def builtin_areas() -> AreaRegistries:
    """What the installed plugins (the built-in areas among them) registered; once per process."""
    return load_areas()
