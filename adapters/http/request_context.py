"""Request ids, structured access logs and rate-limit headers, as one ASGI wrapper.

The request id is the caller's `X-Request-ID` when it is sane (a client correlating its own logs),
otherwise a new one (128 random bits in hex); it is echoed in the response header, in every
problem body and in the logs.

`with_request_context` wraps the app's whole ASGI handler, not a route's: Litestar finds the route
(and answers 404 or 405) before any route middleware runs, and those answers need ids too. It
also puts the address trusted proxies forwarded for in the scope's client, before anything reads it.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Sequence
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from openmailer.adapters.http.client_address import FORWARDED_FOR_HEADER, client_address
from openmailer.adapters.settings import ProxyNetwork
from openmailer.core.ports.accounts import RateDecision

REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID_HEADER = REQUEST_ID_HEADER.encode()
_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")
log = logging.getLogger("openmailer.http.access")


def request_id_of(scope: Any) -> str | None:
    request_id: str | None = scope.get("state", {}).get("request_id")
    return request_id


def remember_rate_decision(scope: Any, decision: RateDecision) -> None:
    scope.setdefault("state", {})["rate_decision"] = decision


def rate_decision_of(scope: Any) -> RateDecision | None:
    decision: RateDecision | None = scope.get("state", {}).get("rate_decision")
    return decision


def rate_limit_headers(decision: RateDecision) -> dict[str, str]:
    """IETF draft `RateLimit-*` fields (seconds until the window resets)."""
    return {
        "RateLimit-Limit": str(decision.limit),
        "RateLimit-Remaining": str(decision.remaining),
        "RateLimit-Reset": str(decision.reset_seconds),
    }


def with_request_context(app: ASGIApp, *, trusted_proxies: Sequence[ProxyNetwork] = ()) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        if trusted_proxies:
            _use_forwarded_client(scope, trusted_proxies)
        request_id = _supplied_request_id(scope["headers"]) or os.urandom(16).hex()
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((_REQUEST_ID_HEADER, request_id.encode()))
                decision = state.get("rate_decision")
                if decision is not None and all(
                    name.lower() != b"ratelimit-limit" for name, _ in headers
                ):
                    headers.extend(
                        (name.lower().encode(), value.encode())
                        for name, value in rate_limit_headers(decision).items()
                    )
                message["headers"] = headers
            await send(message)

        try:
            await app(scope, receive, send_with_headers)
        finally:
            log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": status,
                    "client_ip": (scope.get("client") or (None,))[0],
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "user_id": state.get("user_id"),
                },
            )

    return middleware


def _supplied_request_id(headers: Any) -> str | None:
    for name, value in headers:
        if name == _REQUEST_ID_HEADER:
            supplied: str = value.decode("latin-1")
            return supplied if _SANE_ID.match(supplied) else None
    return None


def _use_forwarded_client(scope: Scope, trusted_proxies: Sequence[ProxyNetwork]) -> None:
    peer = scope.get("client")
    if peer is None:
        return
    forwarded_for = [
        value.decode("latin-1") for name, value in scope["headers"] if name == FORWARDED_FOR_HEADER
    ]
    host = client_address(peer[0], forwarded_for, trusted_proxies)
    if host is not None and host != peer[0]:
        scope["client"] = (host, peer[1])
