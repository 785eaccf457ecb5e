"""The Litestar application: `create_app()` builds it; the lifespan owns the engine and Redis.

HTTP conventions (docs/api.md): routes under `/api/v1`; `Authorization: Bearer <API key or
session token>`; RFC 9457 problem details for every error; `X-Request-ID` on every response;
`RateLimit-*` headers on rate-limited routes; limit/offset pagination.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.routes import HTTPRoute
from litestar.types import Message, Scope

from openmailer.adapters.bootstrap import build_accounts, builtin_areas, open_resources
from openmailer.adapters.crypto.passwords import DEFAULT_ROUNDS
from openmailer.adapters.db.migrate import head_revision
from openmailer.adapters.http.docs_ui import swagger_ui_assets, swagger_ui_plugin
from openmailer.adapters.http.errors import EXCEPTION_HANDLERS
from openmailer.adapters.http.fast_routes import with_fast_routes
from openmailer.adapters.http.json_logs import configure_json_logging
from openmailer.adapters.http.pagination import provide_pagination
from openmailer.adapters.http.request_context import with_request_context
from openmailer.adapters.http.security import (
    BEARER_SCHEME,
    declared_requirement,
    enforce_access,
    provide_principal,
)
from openmailer.adapters.http.strict_input import StrictInput
from openmailer.adapters.metrics.exposure import process_exited
from openmailer.adapters.metrics.http_latency import with_request_metrics
from openmailer.adapters.settings import Settings, load_settings
from openmailer.core.accounts.service import AccountsService
from openmailer.core.areas import AreaRegistries

API_VERSION = "0.1.0"
API_PREFIX = "/api/v1"
MAX_BODY_BYTES = 1_000_000


def provide_accounts(state: State) -> AccountsService:
    accounts: AccountsService = state.accounts
    return accounts


def make_lifespan(
    settings: Settings,
    *,
    password_rounds: int = DEFAULT_ROUNDS,
    accounts: AccountsService | None = None,
) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    """Owns the engine and Redis client for the app's life (tests enter it in their own task),
    and binds every area's registered service to them once (closing, at shutdown, those that
    have an `aclose`). Given `accounts` already bound (to fakes, say), it opens no connection
    at all."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        app.state.migration_head = head_revision()
        if accounts is not None:
            app.state.accounts = accounts
            app.state.services = {}
            yield
            return
        async with open_resources(settings) as resources:
            app.state.resources = resources
            app.state.accounts = build_accounts(resources, password_rounds=password_rounds)
            areas: AreaRegistries = app.state.areas
            app.state.services = {
                entry.key: entry.value.build(resources, areas) for entry in areas.services.entries()
            }
            # What start-up built lives as long as the process: kept out of the collector's full
            # passes, each of which walked all of it (about 220,000 objects, 150-300 ms on the
            # benchmark machine) while every request in flight waited (benchmarks/README.md).
            gc.collect()
            gc.freeze()
            try:
                yield
            finally:
                for service in app.state.services.values():
                    close = getattr(service, "aclose", None)
                    if close is not None:  # a service holding connections of its own
                        await close()
                # The app may stop inside a process that goes on (the tests start several):
                # its cycles must be collectable again.
                gc.unfreeze()
                process_exited()  # an API worker's clean stop (multi-process mode only)

    return lifespan


def create_app(
    settings: Settings | None = None,
    *,
    password_rounds: int = DEFAULT_ROUNDS,
    areas: AreaRegistries | None = None,
    accounts: AccountsService | None = None,
) -> Litestar:
    """`areas` defaults to what the installed plugins registered; `accounts` to the accounts
    area bound to PostgreSQL and Redis (tests pass one bound to in-memory fakes)."""
    settings = settings or load_settings()
    areas = areas or builtin_areas()
    configure_json_logging(settings.log_level)

    routes = areas.http_routes.values()
    api = Router(
        path=API_PREFIX,
        route_handlers=[
            handler for group in routes if not group.at_root for handler in group.handlers
        ],
    )
    at_root = [handler for group in routes if group.at_root for handler in group.handlers]
    strict_input = StrictInput()
    app = Litestar(
        route_handlers=[*at_root, api, swagger_ui_assets()],
        lifespan=[make_lifespan(settings, password_rounds=password_rounds, accounts=accounts)],
        guards=[enforce_access],
        before_request=strict_input.check,
        dependencies={
            "accounts": Provide(provide_accounts, sync_to_thread=False),
            "principal": Provide(provide_principal),
            "pagination": Provide(provide_pagination),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=MAX_BODY_BYTES,
        openapi_config=OpenAPIConfig(
            title="OpenMailer API",
            version=API_VERSION,
            path="/schema",
            render_plugins=[swagger_ui_plugin()],
            components=Components(
                security_schemes={
                    BEARER_SCHEME: SecurityScheme(
                        type="http",
                        scheme="bearer",
                        description="An API key (`om_live_…`/`om_test_…`) or a session token "
                        "from `POST /api/v1/auth/login`.",
                    )
                }
            ),
        ),
        debug=False,
    )
    app.state.areas = areas
    _require_declared_access(app)
    strict_input.learn(app)
    app.before_send.append(_allow_every_method(app))
    app.asgi_handler = with_request_metrics(
        with_request_context(
            with_fast_routes(app.asgi_handler, app), trusted_proxies=settings.trusted_proxies
        )
    )
    return app


def _allow_every_method(app: Litestar) -> Callable[[Message, Scope], Awaitable[None]]:
    """Litestar 2.25 answers OPTIONS with the methods of one handler of a path only; `Allow`
    must list every method the path supports (RFC 9110, 10.2.1)."""
    methods_of = {
        route.path_format: ", ".join(sorted(route.methods))
        for route in app.routes
        if isinstance(route, HTTPRoute)
    }

    async def fix_allow(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start" or scope.get("method") != "OPTIONS":
            return
        allow = methods_of.get(scope.get("path_template", ""))
        if allow:
            headers = [
                (name, value)
                for name, value in message.get("headers", [])
                if name.lower() != b"allow"
            ]
            headers.append((b"allow", allow.encode()))
            message["headers"] = headers

    return fix_allow


def _require_declared_access(app: Litestar) -> None:
    """Deny by construction: an `/api` route without an access declaration cannot ship."""
    undeclared = [
        f"{method} {route.path}"
        for route in app.routes
        if isinstance(route, HTTPRoute) and route.path.startswith(API_PREFIX)
        for method, handler in route.route_handler_map.items()
        if method != "OPTIONS" and declared_requirement(handler[0]) is None
    ]
    if undeclared:
        raise RuntimeError(f"routes without an access requirement: {', '.join(undeclared)}")
