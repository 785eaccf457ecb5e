"""Campaigns: CRUD, the lifecycle state machine, preflight and recipient materialisation
(`/api/v1/campaigns`). The send path (leased batches, workers, the scheduler's start) plugs into
`CampaignsService` and the lifecycle in `openmailer.core.campaigns`."""

from __future__ import annotations

from openmailer.adapters.http.campaigns.campaigns import CampaignController
from openmailer.adapters.http.campaigns.preflight import CampaignPreflightController
from openmailer.core.areas import HttpRoutes, ServiceBinding
from openmailer.core.registry import Registrar
from openmailer.plugins import hookimpl


@hookimpl
def register_http_routes(routes: Registrar[HttpRoutes]) -> None:
    routes.add("campaigns", HttpRoutes(handlers=(CampaignController, CampaignPreflightController)))


@hookimpl
def register_services(services: Registrar[ServiceBinding]) -> None:
    from openmailer.adapters.bootstrap import build_campaigns

    services.add(
        "campaigns",
        ServiceBinding(
            lambda resources, areas: build_campaigns(resources, areas.segment_operators)
        ),
    )
