"""Audience: contacts, lists and memberships, and the contacts' GDPR export and erasure."""

from __future__ import annotations

from openmailer.adapters.http.audience.contacts import ContactController
from openmailer.adapters.http.audience.gdpr import ContactGdprController
from openmailer.adapters.http.audience.lists import ListController
from openmailer.core.areas import HttpRoutes, ServiceBinding
from openmailer.core.registry import Registrar
from openmailer.plugins import hookimpl


@hookimpl
def register_http_routes(routes: Registrar[HttpRoutes]) -> None:
    routes.add(
        "audience", HttpRoutes(handlers=(ContactController, ContactGdprController, ListController))
    )


@hookimpl
def register_services(services: Registrar[ServiceBinding]) -> None:
    from openmailer.adapters.bootstrap import build_audience

    services.add("audience", ServiceBinding(lambda resources, areas: build_audience(resources)))
