"""`sending`: the sending area's service, bound once in the app's lifespan (the area registers
`build_sending` through `register_services`)."""

from __future__ import annotations

from litestar.di import NamedDependency

from openmailer.adapters.http.services import service_dependency
from openmailer.core.sending.service import SendingService

SendingApi = NamedDependency[SendingService]
SENDING_DEPENDENCIES = {"sending": service_dependency("sending")}
