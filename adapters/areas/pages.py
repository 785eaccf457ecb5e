"""Recipient pages: the subscribe forms (`/f/{public_id}`), the double opt-in confirmation
(`/confirm/{token}`), unsubscribe (`/u/{token}`, RFC 8058 one-click included), preferences
(`/p/{token}`) — HTML at the root — and `/api/v1/lists/{list_id}/form`."""

from __future__ import annotations

from openmailer.adapters.http.recipients.forms import ConfirmController, SubscribeController
from openmailer.adapters.http.recipients.one_click import ONE_CLICK_ROUTE
from openmailer.adapters.http.recipients.rendering import stylesheet
from openmailer.adapters.http.recipients.snippet import FormController
from openmailer.adapters.http.recipients.tokens import (
    PreferencesController,
    UnsubscribeController,
)
from openmailer.core.areas import HttpRoutes, ServiceBinding
from openmailer.core.registry import Registrar
from openmailer.plugins import hookimpl


@hookimpl
def register_http_routes(routes: Registrar[HttpRoutes]) -> None:
    routes.add(
        "pages",
        HttpRoutes(
            handlers=(
                SubscribeController,
                ConfirmController,
                UnsubscribeController,
                PreferencesController,
                stylesheet,
            ),
            at_root=True,
            fast_routes=(ONE_CLICK_ROUTE,),  # the RFC 8058 POST as mail clients send it
        ),
    )
    routes.add("pages-api", HttpRoutes(handlers=(FormController,)))


@hookimpl
def register_services(services: Registrar[ServiceBinding]) -> None:
    from openmailer.adapters.bootstrap import build_recipient_pages

    services.add(
        "pages",
        ServiceBinding(lambda resources, areas: build_recipient_pages(resources, areas.providers)),
    )
