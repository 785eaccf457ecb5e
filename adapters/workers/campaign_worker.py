"""The campaign actors, run on their process's event loop (`process_loop`) with the process's
resources (engine, Redis, the provider chain and its pooled SMTP/API connections) opened on it
once.

A SIGTERM makes dramatiq stop taking messages and wait for the ones running (their batches
finish and are recorded: exactly once); a kill -9 leaves the claimed rows' leases to expire.
"""

from __future__ import annotations

import dataclasses
import gc
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from openmailer.adapters.bootstrap.resources import (
    Resources,
    builtin_areas,
    create_redis,
    create_service_engine,
    require_service_urls,
)
from openmailer.adapters.settings import Settings
from openmailer.adapters.workers.process_loop import ProcessLoop
from openmailer.core.campaigns.sending_service import CampaignSendingService
from openmailer.core.ports.campaign_sending import Lane

log = logging.getLogger("openmailer.workers.campaigns")
_T = TypeVar("_T")
# A worker's statements may take longer than an API request's: materialising 100k recipients
# takes ~15 s on the 2-core machine (the API's limit is 10 s).
WORKER_STATEMENT_TIMEOUT_SECONDS = 300.0
# Each batch run waits at most this long; the actor's own time limit is above it.
BATCH_TIMEOUT_SECONDS = 240.0


async def _open(settings: Settings) -> CampaignSendingService:
    from openmailer.adapters.bootstrap.campaign_sending import build_campaign_sending

    settings = dataclasses.replace(
        settings,
        database_statement_timeout=max(
            settings.database_statement_timeout, WORKER_STATEMENT_TIMEOUT_SECONDS
        ),
    )
    database_url, redis_url = require_service_urls(settings)
    resources = Resources(
        settings,
        create_service_engine(database_url, settings),
        create_redis(redis_url, settings.redis_timeout),
    )
    service = build_campaign_sending(
        resources, builtin_areas().segment_operators, renderer_threads=None
    )
    # What the process has built so far lives as long as it does: kept out of the collector's
    # full passes, which otherwise walk it all again and again while batches allocate (7% of a
    # sending process's Python time, profiled on the campaign benchmark), as the API's start-up
    # does (adapters/http/app.py).
    gc.collect()
    gc.freeze()
    return service


_campaigns = ProcessLoop("campaign-loop", _open)


def run_on_process_loop(
    work: Callable[[CampaignSendingService], Awaitable[_T]],
    timeout: float = BATCH_TIMEOUT_SECONDS,
) -> _T:
    return _campaigns.run(work, timeout)


def start_campaign(user_id: int, campaign_id: int) -> None:
    total = run_on_process_loop(lambda service: service.prepare(user_id, campaign_id))
    if total is not None:
        log.info("campaign_started", extra={"campaign_id": campaign_id, "recipients": total})


def send_campaign_batch(
    user_id: int, campaign_id: int, lane_index: int | None = None, lane_token: str | None = None
) -> None:
    """`lane_*` are absent from messages enqueued before lanes carried them."""
    lane = None if lane_index is None or lane_token is None else Lane(lane_index, lane_token)
    run_on_process_loop(lambda service: service.send_batch(user_id, campaign_id, lane))


def reconcile_campaigns() -> None:
    woken = run_on_process_loop(lambda service: service.reconcile())
    if woken:
        log.info("campaigns_woken", extra={"campaign_ids": woken})


def start_scheduled_campaigns() -> None:
    started = run_on_process_loop(lambda service: service.start_due())
    if started:
        log.info("scheduled_campaigns_started", extra={"campaign_ids": started})
