"""Campaigns: CRUD, the lifecycle state machine, preflight, and the send path
(`/api/v1/campaigns`, `.../send|pause|resume|retry-failed|test`): the workers' `start_campaign`
and `send_campaign_batch`, and the periodic start of scheduled campaigns and reconciler."""

from __future__ import annotations

from openmailer.adapters.http.campaigns.campaigns import CampaignController
from openmailer.adapters.http.campaigns.preflight import CampaignPreflightController
from openmailer.adapters.http.campaigns.sending import CampaignSendingController
from openmailer.adapters.workers import campaign_worker
from openmailer.adapters.workers.campaign_queue import (
    CAMPAIGNS_QUEUE,
    SEND_BATCH_ACTOR,
    START_CAMPAIGN_ACTOR,
)
from openmailer.core.areas import ActorSpec, HttpRoutes, PeriodicJob, ServiceBinding
from openmailer.core.registry import Registrar
from openmailer.plugins import hookimpl

RECONCILE_INTERVAL_SECONDS = 15
START_SCHEDULED_INTERVAL_SECONDS = 10


@hookimpl
def register_http_routes(routes: Registrar[HttpRoutes]) -> None:
    routes.add(
        "campaigns",
        HttpRoutes(
            handlers=(CampaignController, CampaignPreflightController, CampaignSendingController)
        ),
    )


@hookimpl
def register_services(services: Registrar[ServiceBinding]) -> None:
    from openmailer.adapters.bootstrap import build_campaigns
    from openmailer.adapters.bootstrap.campaign_sending import build_campaign_sending

    services.add(
        "campaigns",
        ServiceBinding(
            lambda resources, areas: build_campaigns(resources, areas.segment_operators)
        ),
    )
    services.add(
        "campaign_sending",
        ServiceBinding(
            lambda resources, areas: build_campaign_sending(resources, areas.segment_operators)
        ),
    )


@hookimpl
def register_actors(actors: Registrar[ActorSpec]) -> None:
    # A failed run is safe to repeat (it claims afresh); rows it held wait for their lease.
    actors.add(
        START_CAMPAIGN_ACTOR,
        ActorSpec(
            campaign_worker.start_campaign,
            queue=CAMPAIGNS_QUEUE,
            max_retries=5,
            time_limit_ms=30 * 60_000,
        ),
    )
    actors.add(
        SEND_BATCH_ACTOR,
        ActorSpec(
            campaign_worker.send_campaign_batch,
            queue=CAMPAIGNS_QUEUE,
            max_retries=5,
            time_limit_ms=5 * 60_000,
        ),
    )
    actors.add(
        "reconcile_campaigns",
        ActorSpec(
            campaign_worker.reconcile_campaigns,
            queue="maintenance",
            max_retries=0,
            time_limit_ms=60_000,
        ),
    )
    actors.add(
        "start_scheduled_campaigns",
        ActorSpec(
            campaign_worker.start_scheduled_campaigns,
            queue="maintenance",
            max_retries=0,
            time_limit_ms=60_000,
        ),
    )


@hookimpl
def register_periodic_jobs(jobs: Registrar[PeriodicJob]) -> None:
    jobs.add("reconcile-campaigns", PeriodicJob("reconcile_campaigns", RECONCILE_INTERVAL_SECONDS))
    jobs.add(
        "start-scheduled-campaigns",
        PeriodicJob("start_scheduled_campaigns", START_SCHEDULED_INTERVAL_SECONDS),
    )
