"""The Litestar application: `create_app()` builds it; the lifespan owns the engine and Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin

from openmailer.adapters.bootstrap import open_resources
from openmailer.adapters.http.health import health, migration_head
from openmailer.adapters.settings import Settings, load_settings

API_VERSION = "0.1.0"


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with open_resources(settings) as resources:
            app.state.resources = resources
            app.state.migration_head = migration_head()
            yield

    return Litestar(
        route_handlers=[health],
        lifespan=[lifespan],
        openapi_config=OpenAPIConfig(
            title="OpenMailer API",
            version=API_VERSION,
            path="/schema",
            render_plugins=[SwaggerRenderPlugin(path="/")],
        ),
        debug=False,
    )
