"""The open pixel and the click redirect answered at the ASGI layer (`core.areas.FastRoute`).

Every recipient's mail client and every click hit these two paths, and Litestar's routing,
dependency resolution and response building cost more than the work itself (a MAC check, a
cached URL, one group-committed `XADD`). These answers give what `public.py`'s handlers give:
the same statuses, bodies, `NO_STORE` headers and flood refusals, through the same
`PublicTracking` service. Those handlers stay the documented routes (OpenAPI) and the fallback:
anything unusual is handed to them, having sent nothing: a token with a `/` in it (Litestar's
router answers that), and a hit the service failed to record (an outage: Litestar renders the
503 and logs it; nothing was recorded, so nothing counts twice).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import msgspec

from openmailer.adapters.http.errors import PROBLEM_JSON, problem_of
from openmailer.adapters.http.tracking.public import (
    GIF_SUFFIX,
    NO_STORE,
    PIXEL,
    RATE_LIMITED,
    UNKNOWN_LINK,
    PublicTracking,
    location_of,
)
from openmailer.core.areas import FastRoute

PIXEL_PREFIX = "/t/o/"
CLICK_PREFIX = "/t/c/"
PIXEL_TEMPLATE = "/t/o/{token:str}"  # the Litestar routes' templates: one latency label each
CLICK_TEMPLATE = "/t/c/{token:str}"
USER_AGENT = b"user-agent"

# Requests each fast route answered itself (not handed to Litestar), for tests and debugging.
ANSWERED: Counter[str] = Counter()

_NO_STORE_HEADERS = [(name.lower().encode(), value.encode()) for name, value in NO_STORE.items()]
_PIXEL_HEADERS = [
    *_NO_STORE_HEADERS,
    (b"content-type", b"image/gif"),
    (b"content-length", str(len(PIXEL)).encode()),
]
_problem_encoder = msgspec.json.Encoder()


def _client_and_agent(scope: Any) -> tuple[str | None, str | None]:
    client = scope.get("client")
    user_agent = None
    for name, value in scope["headers"]:
        if name == USER_AGENT:
            user_agent = value.decode("latin-1")
            break
    return (client[0] if client else None), user_agent


async def _send_problem(
    scope: Any, send: Any, status: int, code: str, detail: str, extra: list[tuple[bytes, bytes]]
) -> None:
    """The body and headers `errors.handle_domain_error` gives the same domain error."""
    body = _problem_encoder.encode(problem_of(scope, status, code, detail))
    headers = [
        *extra,
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def answer_open_pixel(public: PublicTracking, scope: Any, receive: Any, send: Any) -> bool:
    token = scope["path"][len(PIXEL_PREFIX) :]
    if not token or "/" in token:
        return False
    client, user_agent = _client_and_agent(scope)
    # Messages and header lists are new for each response: the wrappers outside add to them.
    headers = [*_PIXEL_HEADERS]
    retry_after = public.flood_guard.admit(client or "")
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
        status = 429
    elif not token.endswith(GIF_SUFFIX):
        status = 404
    else:
        try:
            recorded = await public.service.record_open(
                token[: -len(GIF_SUFFIX)], ip_address=client, user_agent=user_agent
            )
        except Exception:  # an outage: Litestar's handler meets it again and answers 503
            return False
        status = 200 if recorded else 404
    ANSWERED[PIXEL_TEMPLATE] += 1
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": PIXEL})
    return True


async def answer_click(public: PublicTracking, scope: Any, receive: Any, send: Any) -> bool:
    token = scope["path"][len(CLICK_PREFIX) :]
    if not token or "/" in token:
        return False
    client, user_agent = _client_and_agent(scope)
    retry_after = public.flood_guard.admit(client or "")
    if retry_after is not None:
        ANSWERED[CLICK_TEMPLATE] += 1
        extra = [(b"retry-after", str(retry_after).encode())]
        await _send_problem(scope, send, 429, "rate_limited", RATE_LIMITED, extra)
        return True
    try:
        url = await public.service.record_click(token, ip_address=client, user_agent=user_agent)
    except Exception:  # an outage: Litestar's handler meets it again and answers 503
        return False
    ANSWERED[CLICK_TEMPLATE] += 1
    location = location_of(url)
    if location is None:
        await _send_problem(scope, send, 404, "not_found", UNKNOWN_LINK, [])
        return True
    headers = [
        *_NO_STORE_HEADERS,
        (b"location", location.encode("latin-1")),
        (b"content-length", b"0"),
    ]
    await send({"type": "http.response.start", "status": 302, "headers": headers})
    await send({"type": "http.response.body", "body": b""})
    return True


TRACKING_FAST_ROUTES = (
    FastRoute("GET", PIXEL_PREFIX, PIXEL_TEMPLATE, "tracking-public", answer_open_pixel),
    FastRoute("GET", CLICK_PREFIX, CLICK_TEMPLATE, "tracking-public", answer_click),
)
