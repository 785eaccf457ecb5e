"""`campaigns`: the campaigns area's service, bound once in the app's lifespan through
`register_services`."""

from __future__ import annotations

from litestar.di import NamedDependency

from openmailer.adapters.http.services import service_dependency
from openmailer.core.campaigns.service import CampaignsService

CampaignsApi = NamedDependency[CampaignsService]
CAMPAIGNS_DEPENDENCIES = {"campaigns": service_dependency("campaigns")}
