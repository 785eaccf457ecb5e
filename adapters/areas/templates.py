"""Templates: reusable content compiled by sender_rs, with immutable versions
(`/api/v1/templates`)."""

from __future__ import annotations

from openmailer.adapters.http.templates.templates import TemplateController
from openmailer.core.areas import HttpRoutes, ServiceBinding
from openmailer.core.registry import Registrar
from openmailer.plugins import hookimpl


@hookimpl
def register_http_routes(routes: Registrar[HttpRoutes]) -> None:
    routes.add("templates", HttpRoutes(handlers=(TemplateController,)))


@hookimpl
def register_services(services: Registrar[ServiceBinding]) -> None:
    from openmailer.adapters.bootstrap import build_templates

    services.add("templates", ServiceBinding(lambda resources, areas: build_templates(resources)))
