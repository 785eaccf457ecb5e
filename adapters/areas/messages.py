"""Messages: the transactional send API (`/api/v1/messages`) and the email logs
(`/api/v1/email-logs`)."""

from __future__ import annotations

import asyncio
import logging

from openmailer.adapters.http.messages.email_logs import EmailLogController
from openmailer.adapters.http.messages.messages import MessageController
from openmailer.core.areas import ActorSpec, HttpRoutes, PeriodicJob, ServiceBinding
from openmailer.core.registry import Registrar
from openmailer.plugins import hookimpl

log = logging.getLogger("openmailer.messages")

PURGE_INTERVAL_SECONDS = 3600


@hookimpl
def register_http_routes(routes: Registrar[HttpRoutes]) -> None:
    routes.add("messages", HttpRoutes(handlers=(MessageController, EmailLogController)))


@hookimpl
def register_services(services: Registrar[ServiceBinding]) -> None:
    from openmailer.adapters.bootstrap import build_messages

    services.add(
        "messages",
        ServiceBinding(lambda resources, areas: build_messages(resources, areas.providers)),
    )


def purge_idempotency_keys() -> None:
    """Delete expired Idempotency-Key rows (kept a day), in bounded batches."""
    from openmailer.adapters.bootstrap import build_messages, open_resources

    async def run() -> int:
        async with open_resources() as resources:
            return await build_messages(resources).purge_expired_idempotency_keys()

    log.info("idempotency_keys_purged", extra={"deleted": asyncio.run(run())})


@hookimpl
def register_actors(actors: Registrar[ActorSpec]) -> None:
    actors.add(
        "purge_idempotency_keys",
        ActorSpec(
            purge_idempotency_keys, queue="maintenance", max_retries=0, time_limit_ms=600_000
        ),
    )


@hookimpl
def register_periodic_jobs(jobs: Registrar[PeriodicJob]) -> None:
    jobs.add(
        "purge-idempotency-keys", PeriodicJob("purge_idempotency_keys", PURGE_INTERVAL_SECONDS)
    )
