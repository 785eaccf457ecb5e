"""Fast routes (`core.areas.FastRoute`): answered before Litestar's router, inside the request
context and the latency metrics, so they keep request ids, access logs and their histogram.

A fast route is only tried once the app's lifespan has bound its service; before that (or for a
request it declines) Litestar answers as it would without it.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from litestar import Litestar
from litestar.types import ASGIApp, Receive, Scope, Send

from openmailer.core.areas import AreaRegistries, FastRoute


def fast_routes_of(areas: AreaRegistries) -> list[FastRoute]:
    return [route for group in areas.http_routes.values() for route in group.fast_routes]


def with_fast_routes(handler: ASGIApp, app: Litestar) -> ASGIApp:
    routes: dict[str, list[FastRoute]] = defaultdict(list)
    for route in fast_routes_of(app.state.areas):
        routes[route.method].append(route)
    if not routes:
        return handler
    state = app.state

    async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
        http: dict[str, Any] = scope  # type: ignore[assignment]  # a plain dict at run time
        if http["type"] == "http":
            path = http["path"]
            for route in routes.get(http["method"], ()):
                if not path.startswith(route.path_prefix):
                    continue
                service = state.get("services", {}).get(route.service)
                if service is not None:
                    http["path_template"] = route.template
                    if await route.answer(service, scope, receive, send):
                        return
                    del http["path_template"]
                break
        await handler(scope, receive, send)

    return dispatch
