"""`GET /health`: database and Redis reachability and the schema revision; 503 if one is down.

Why a service is down (error texts name hosts, sockets and library internals) is shown only to a
client on the machine itself; any other client sees which services are down, not why.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import msgspec
from litestar import Request, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.response import Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from openmailer.adapters.bootstrap import Resources
from openmailer.adapters.http.client_address import is_loopback
from openmailer.adapters.workers.heartbeats import HEARTBEATS_KEY, heartbeat_ages

CHECK_TIMEOUT_SECONDS = 2.0


class ComponentHealth(msgspec.Struct, omit_defaults=True):
    ok: bool
    error: str | None = None


class MigrationState(msgspec.Struct):
    current: str | None
    head: str | None
    up_to_date: bool


class HealthReport(msgspec.Struct):
    status: str
    database: ComponentHealth
    redis: ComponentHealth
    migrations: MigrationState
    # Seconds since the last worker job and scheduler tick; informational, never a 503.
    heartbeats: dict[str, float]


async def _check_database(engine: AsyncEngine) -> tuple[ComponentHealth, str | None]:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS), engine.connect() as conn:
            revision = None
            if await conn.scalar(text("SELECT to_regclass('alembic_version') IS NOT NULL")):
                revision = await conn.scalar(text("SELECT version_num FROM alembic_version"))
            return ComponentHealth(ok=True), revision
    except Exception as exc:  # any failure means "not reachable" to an operator
        return ComponentHealth(ok=False, error=_describe(exc)), None


async def _check_redis(resources: Resources) -> tuple[ComponentHealth, dict[str, float]]:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            raw = await resources.redis.hgetall(HEARTBEATS_KEY)
        return ComponentHealth(ok=True), heartbeat_ages(raw, time.time())
    except Exception as exc:
        return ComponentHealth(ok=False, error=_describe(exc)), {}


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {CHECK_TIMEOUT_SECONDS:g}s"
    return f"{type(exc).__name__}: {exc}"[:300]


@get(
    "/health",
    tags=["operations"],
    operation_id="health",
    cache=False,
    responses={503: ResponseSpec(HealthReport, description="PostgreSQL or Redis is unreachable")},
)
async def health(request: Request[Any, Any, Any]) -> Response[HealthReport]:
    """Reachability of PostgreSQL and Redis, and whether the schema is at the newest migration."""
    resources: Resources = request.app.state.resources
    (database, revision), (redis, heartbeats) = await asyncio.gather(
        _check_database(resources.engine), _check_redis(resources)
    )
    head = request.app.state.migration_head
    healthy = database.ok and redis.ok
    if not is_loopback(request.client.host if request.client else None):
        database, redis = ComponentHealth(ok=database.ok), ComponentHealth(ok=redis.ok)
    report = HealthReport(
        status="ok" if healthy else "unavailable",
        database=database,
        redis=redis,
        migrations=MigrationState(current=revision, head=head, up_to_date=revision == head),
        heartbeats=heartbeats,
    )
    return Response(report, status_code=200 if healthy else 503)
