"""How the audience controllers reach their service: bound once in the app's lifespan (the area
registers `build_audience` through `register_services`)."""

from __future__ import annotations

from litestar.di import NamedDependency

from openmailer.adapters.http.services import service_dependency
from openmailer.core.audience.service import AudienceService

AudienceApi = NamedDependency[AudienceService]


AUDIENCE_DEPENDENCIES = {"audience": service_dependency("audience")}
