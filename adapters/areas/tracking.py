"""Tracking: the open pixel and click redirect (`/t/o`, `/t/c`, public), the worker that drains
their buffer into PostgreSQL through the registered tracking handlers, and the campaign
statistics (`/api/v1/campaigns/{id}/stats`)."""

from __future__ import annotations

import asyncio
import logging

from openmailer.adapters.http.tracking.fast import TRACKING_FAST_ROUTES
from openmailer.adapters.http.tracking.public import click_redirect, open_pixel
from openmailer.adapters.http.tracking.stats import CampaignStatsController
from openmailer.adapters.metrics.instruments import count_tracking_events_flushed
from openmailer.core.areas import ActorSpec, HttpRoutes, PeriodicJob, ServiceBinding
from openmailer.core.registry import Registrar
from openmailer.plugins import hookimpl

log = logging.getLogger("openmailer.tracking")

DRAIN_INTERVAL_SECONDS = 1


@hookimpl
def register_http_routes(routes: Registrar[HttpRoutes]) -> None:
    # The fast routes answer both paths first; the handlers stay the documented routes and take
    # what the fast routes hand on (adapters/http/tracking/fast.py).
    routes.add(
        "tracking",
        HttpRoutes(
            handlers=(open_pixel, click_redirect),
            at_root=True,
            fast_routes=TRACKING_FAST_ROUTES,
        ),
    )
    routes.add("campaign-stats", HttpRoutes(handlers=(CampaignStatsController,)))


@hookimpl
def register_services(services: Registrar[ServiceBinding]) -> None:
    from openmailer.adapters.bootstrap import build_tracking
    from openmailer.adapters.http.tracking.flood import FloodGuard
    from openmailer.adapters.http.tracking.public import PublicTracking

    services.add("tracking", ServiceBinding(lambda resources, areas: build_tracking(resources)))
    services.add(
        "tracking-public",
        ServiceBinding(
            lambda resources, areas: PublicTracking(build_tracking(resources), FloodGuard())
        ),
    )


def drain_tracking_events() -> None:
    """Apply every buffered open and click; the scheduler enqueues this every second."""
    from openmailer.adapters.bootstrap import (
        build_tracking_drain,
        builtin_areas,
        open_resources,
    )
    from openmailer.core.tracking.service import drain

    async def run() -> int:
        async with open_resources() as resources:
            return await drain(build_tracking_drain(resources, builtin_areas().tracking_handlers))

    applied = asyncio.run(run())
    count_tracking_events_flushed(applied)
    if applied:
        log.info("tracking_events_applied", extra={"applied": applied})


@hookimpl
def register_actors(actors: Registrar[ActorSpec]) -> None:
    actors.add(
        "drain_tracking_events",
        ActorSpec(drain_tracking_events, queue="tracking", max_retries=0, time_limit_ms=120_000),
    )


@hookimpl
def register_periodic_jobs(jobs: Registrar[PeriodicJob]) -> None:
    jobs.add("drain-tracking-events", PeriodicJob("drain_tracking_events", DRAIN_INTERVAL_SECONDS))
