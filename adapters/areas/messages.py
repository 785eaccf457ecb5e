"""Messages: the transactional send API (`/api/v1/messages`) and the email logs
(`/api/v1/email-logs`)."""

from __future__ import annotations

from openmailer.adapters.http.messages.email_logs import EmailLogController
from openmailer.adapters.http.messages.messages import MessageController
from openmailer.core.areas import HttpRoutes, ServiceBinding
from openmailer.core.registry import Registrar
from openmailer.plugins import hookimpl


@hookimpl
def register_http_routes(routes: Registrar[HttpRoutes]) -> None:
    routes.add("messages", HttpRoutes(handlers=(MessageController, EmailLogController)))


@hookimpl
def register_services(services: Registrar[ServiceBinding]) -> None:
    from openmailer.adapters.bootstrap import build_messages

    services.add(
        "messages",
        ServiceBinding(lambda resources, areas: build_messages(resources, areas.providers)),
    )
