"""Provider events: `POST /webhooks/{token}` (SES through SNS, SendGrid), the worker's
`process_webhook_events` woken per stored batch, and the periodic `retry_webhook_events` that
picks up what a lost message, a crash or a failure left unprocessed; both run on the worker
process's one events loop (adapters/workers/events_worker.py)."""

from __future__ import annotations

import logging

from openmailer.adapters.http.webhooks.receive import receive_provider_events
from openmailer.adapters.metrics.instruments import count_webhook_events_processed
from openmailer.adapters.workers.event_queue import (
    EVENTS_QUEUE,
    PROCESS_EVENTS_ACTOR,
    RETRY_EVENTS_ACTOR,
)
from openmailer.core.areas import ActorSpec, HttpRoutes, PeriodicJob, ServiceBinding
from openmailer.core.registry import Registrar
from openmailer.plugins import hookimpl

log = logging.getLogger(__name__)
RETRY_INTERVAL_SECONDS = 60


@hookimpl
def register_http_routes(routes: Registrar[HttpRoutes]) -> None:
    routes.add("webhooks", HttpRoutes(handlers=(receive_provider_events,), at_root=True))


@hookimpl
def register_services(services: Registrar[ServiceBinding]) -> None:
    from openmailer.adapters.bootstrap import build_events

    services.add(
        "events",
        ServiceBinding(
            lambda resources, areas: build_events(resources, provider_types=areas.providers)
        ),
    )


def process_webhook_events(event_ids: list[int]) -> None:
    from openmailer.adapters.workers.events_worker import run_on_events_loop

    processed = run_on_events_loop(lambda events: events.process_many(event_ids))
    count_webhook_events_processed(taken=len(event_ids), applied=processed)
    log.info("webhook_events_processed", extra={"count": processed})


def retry_webhook_events() -> None:
    from openmailer.adapters.workers.events_worker import run_on_events_loop

    processed = run_on_events_loop(lambda events: events.retry_pending())
    count_webhook_events_processed(taken=processed, applied=processed)
    if processed:
        log.info("webhook_events_retried", extra={"count": processed})


@hookimpl
def register_actors(actors: Registrar[ActorSpec]) -> None:
    # No retries of the message: a failed event counts its attempt in its row, and the
    # periodic job retries it (up to core.events.service.MAX_ATTEMPTS).
    actors.add(
        PROCESS_EVENTS_ACTOR,
        ActorSpec(process_webhook_events, queue=EVENTS_QUEUE, max_retries=0, time_limit_ms=300_000),
    )
    actors.add(
        RETRY_EVENTS_ACTOR,
        ActorSpec(retry_webhook_events, queue="maintenance", max_retries=0, time_limit_ms=300_000),
    )


@hookimpl
def register_periodic_jobs(jobs: Registrar[PeriodicJob]) -> None:
    jobs.add("retry-webhook-events", PeriodicJob(RETRY_EVENTS_ACTOR, RETRY_INTERVAL_SECONDS))
