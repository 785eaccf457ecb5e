"""API request latency by route template, method and status: one ASGI wrapper around the app.

It sits on the hottest routes (the open pixel, the click redirect, one-click unsubscribe), so a
request costs one clock read at each end and one histogram observation through a child looked
up in a dict: label resolution (`labels()`, its lock and its string checks) happens once per
(route, method, status), not once per request. The route is the template Litestar matched
(`/t/c/{token}`); a request that matched no route is `unmatched`, so a scanner's paths never
become label values.
"""

from __future__ import annotations

import re
import time
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from openmailer.adapters.metrics.instruments import HTTP_REQUEST_SECONDS

UNMATCHED_ROUTE = "unmatched"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_PARAMETER_TYPE = re.compile(r"\{([^}:]+):[^}]+\}")

_children: dict[tuple[str, str, int], Any] = {}


def observation_of(path_template: str, method: str, status: int) -> Any:
    """The histogram child for one request's labels (made on first use). The key is bounded
    like the labels: templates are the app's, any method outside the known ones is `other`."""
    key = (path_template, method if method in KNOWN_METHODS else "other", status)
    child = _children.get(key)
    if child is None:
        route = _PARAMETER_TYPE.sub(r"{\1}", path_template) if path_template else UNMATCHED_ROUTE
        child = HTTP_REQUEST_SECONDS.labels(route, key[1], str(status))
        _children[key] = child
    return child


def with_request_metrics(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await app(scope, receive, send_noting_status)
        finally:
            template: str = scope.get("path_template") or ""  # set by Litestar's router
            observation_of(template, scope.get("method") or "", status).observe(
                time.perf_counter() - started
            )

    return middleware
