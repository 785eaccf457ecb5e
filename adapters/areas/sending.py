"""Sending: provider plugins' registry, the built-in SMTP, SES, SENDGRID and OUTBOX providers,
the providers and outbox API. The built-in providers are registered through `register_providers`
exactly as a third party's are."""

from __future__ import annotations

from openmailer.adapters.http.sending.outbox import OutboxController
from openmailer.adapters.http.sending.providers import ProviderController
from openmailer.adapters.providers.outbox import OUTBOX
from openmailer.adapters.providers.sendgrid import SENDGRID
from openmailer.adapters.providers.ses import SES
from openmailer.adapters.providers.smtp import SMTP
from openmailer.core.areas import HttpRoutes, ServiceBinding
from openmailer.core.registry import Registrar
from openmailer.core.sending.contract import ProviderType
from openmailer.plugins import hookimpl


@hookimpl
def register_providers(providers: Registrar[ProviderType]) -> None:
    providers.add(SMTP.name, SMTP)
    providers.add(SES.name, SES)
    providers.add(SENDGRID.name, SENDGRID)
    providers.add(OUTBOX.name, OUTBOX)


@hookimpl
def register_http_routes(routes: Registrar[HttpRoutes]) -> None:
    routes.add("sending", HttpRoutes(handlers=(ProviderController, OutboxController)))


@hookimpl
def register_services(services: Registrar[ServiceBinding]) -> None:
    from openmailer.adapters.bootstrap import build_sending

    services.add(
        "sending",
        ServiceBinding(lambda resources, areas: build_sending(resources, areas.providers)),
    )
