"""Sending domains: DKIM keys, DNS records to publish, verification (on demand and hourly)."""

from __future__ import annotations

import asyncio
import logging

from openmailer.adapters.http.domains.domains import DomainController
from openmailer.core.areas import ActorSpec, HttpRoutes, PeriodicJob, ServiceBinding
from openmailer.core.registry import Registrar
from openmailer.plugins import hookimpl

log = logging.getLogger(__name__)
REVERIFY_INTERVAL_SECONDS = 3600


@hookimpl
def register_http_routes(routes: Registrar[HttpRoutes]) -> None:
    routes.add("domains", HttpRoutes(handlers=(DomainController,)))


@hookimpl
def register_services(services: Registrar[ServiceBinding]) -> None:
    from openmailer.adapters.bootstrap import build_domains

    services.add("domains", ServiceBinding(lambda resources, areas: build_domains(resources)))


def reverify_domains() -> None:
    """Check every domain's records again, in batches; a verified domain whose records are gone
    becomes FAILED. Takes no arguments: it carries no data across the queue."""
    from openmailer.adapters.bootstrap import build_domains, open_database

    async def run() -> int:
        async with open_database() as database:
            return await build_domains(database).reverify_all()

    log.info("domains_reverified", extra={"domains": asyncio.run(run())})


@hookimpl
def register_actors(actors: Registrar[ActorSpec]) -> None:
    # Each domain's lookups are bounded by OPENMAILER_DNS_TIMEOUT; a batch runs concurrently.
    actors.add(
        "reverify_domains",
        ActorSpec(reverify_domains, queue="maintenance", max_retries=0, time_limit_ms=1_800_000),
    )


@hookimpl
def register_periodic_jobs(jobs: Registrar[PeriodicJob]) -> None:
    jobs.add("reverify-domains", PeriodicJob("reverify_domains", REVERIFY_INTERVAL_SECONDS))
