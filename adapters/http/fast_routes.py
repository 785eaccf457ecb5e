"""Fast routes (`core.areas.FastRoute`): answered before Litestar's router, inside the request
context and the latency metrics, so they keep request ids, access logs and their histogram.

A fast route is only tried once the app's lifespan has bound its service; before that (or for a
request it declines) Litestar answers as it would without it. A route that read the body before
declining hands Litestar a `receive` replaying it (`replaying`).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from litestar import Litestar
from litestar.types import ASGIApp, HTTPRequestEvent, Receive, ReceiveMessage, Scope, Send

from openmailer.core.areas import AreaRegistries, FastRoute


def fast_routes_of(areas: AreaRegistries) -> list[FastRoute]:
    return [route for group in areas.http_routes.values() for route in group.fast_routes]


def replaying(body: bytes, receive: Receive) -> Receive:
    """A `receive` giving `body` (already read from the client) as one message, then what the
    client sends after it (its disconnect): what a fast route returns to decline a request
    whose body it read."""
    pending = True

    async def replay() -> ReceiveMessage:
        nonlocal pending
        if pending:
            pending = False
            replayed: HTTPRequestEvent = {"type": "http.request", "body": body, "more_body": False}
            return replayed
        return await receive()

    return replay


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
                    answered = await route.answer(service, scope, receive, send)
                    if answered is True:
                        return
                    if answered is not False:
                        receive = answered  # declined after reading the body: its replay
                    del http["path_template"]
                break
        await handler(scope, receive, send)

    return dispatch
