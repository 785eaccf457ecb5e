"""`GET /t/o/{token}.gif` (the open pixel) and `GET /t/c/{token}` (the click redirect): public,
no credential, in every mail a campaign sends.

The token's MAC is checked first (sender_rs, no database); a forged, truncated or unknown token
gets the same 404 as any other (the pixel's still a GIF) and records nothing. A click redirects
only to the URL the campaign recorded for that link; nothing in the request is ever a redirect
target. Responses are never cached (a cached pixel would hide the next open) and carry no
referrer onward.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath
from litestar.status_codes import HTTP_302_FOUND

from openmailer.adapters.http.errors import problem_specs
from openmailer.adapters.http.services import service_dependency
from openmailer.adapters.http.tracking.flood import FloodGuard
from openmailer.core.errors import NotFound, RateLimited
from openmailer.core.tracking.service import TrackingService

TrackingApi = NamedDependency[TrackingService]
TRACKING_DEPENDENCIES = {"tracking": service_dependency("tracking")}


@dataclass(frozen=True)
class PublicTracking:
    """What the public endpoints need, as one dependency: Litestar resolves two or more
    dependencies of a handler in tasks of their own, which on the hottest public route costs
    more than the rest of the handler."""

    service: TrackingService
    flood_guard: FloodGuard


PublicTrackingApi = NamedDependency[PublicTracking]
PUBLIC_DEPENDENCIES = {"public_tracking": service_dependency("tracking-public")}

# The smallest transparent GIF (1x1, 42 bytes).
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
GIF_SUFFIX = ".gif"
NO_STORE = {
    "Cache-Control": "no-store, no-cache, must-revalidate, max-age=0, private",
    "Pragma": "no-cache",
    "Expires": "0",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}
UNKNOWN_LINK = "no such link"
RATE_LIMITED = "too many requests from this address"


def location_of(url: str | None) -> str | None:
    """The `Location` to send for a recorded URL; None (answer 404) when it has a control
    character (never a header split, whatever was recorded). Non-ASCII characters are sent
    percent-encoded as UTF-8, as a browser would request them: a header value is bytes."""
    if url is None or not url.isprintable():
        return None
    return url if url.isascii() else quote(url, safe=_URL_PUNCTUATION)


# Kept as they are when a recorded URL is percent-encoded (including `%`: existing escapes).
_URL_PUNCTUATION = "!#$%&'()*+,/:;=?@[]"


def _client(request: Request[Any, Any, Any]) -> str | None:
    return request.client.host if request.client else None


def _pixel(status: int, headers: dict[str, str] = NO_STORE) -> Response[bytes]:
    return Response(PIXEL, status_code=status, media_type="image/gif", headers=headers)


@get(
    "/t/o/{token:str}",
    dependencies=PUBLIC_DEPENDENCIES,
    media_type="image/gif",
    summary="Open pixel",
    description="A 1x1 GIF; records an open when the token is authentic. Unknown or forged "
    "tokens answer 404, still with the GIF, and record nothing.",
    responses={
        status: ResponseSpec(data_container=bytes, media_type="image/gif", description=what)
        for status, what in (
            (404, "Unknown or forged token: the same GIF, nothing recorded"),
            (429, "Too many requests from this address: the same GIF, nothing recorded"),
        )
    },
    tags=["tracking"],
)
async def open_pixel(
    token: FromPath[str], request: Request[Any, Any, Any], public_tracking: PublicTrackingApi
) -> Response[bytes]:
    client = _client(request)
    retry_after = public_tracking.flood_guard.admit(client or "")
    if retry_after is not None:
        return _pixel(429, NO_STORE | {"Retry-After": str(retry_after)})
    if not token.endswith(GIF_SUFFIX):
        return _pixel(404)
    recorded = await public_tracking.service.record_open(
        token.removesuffix(GIF_SUFFIX),
        ip_address=client,
        user_agent=request.headers.get("user-agent"),
    )
    return _pixel(200 if recorded else 404)


@get(
    "/t/c/{token:str}",
    dependencies=PUBLIC_DEPENDENCIES,
    status_code=HTTP_302_FOUND,
    summary="Click redirect",
    description="302 to the URL the campaign recorded for this link, recording the click. "
    "Unknown or forged tokens answer 404 and record nothing.",
    responses=problem_specs(404, 429),
    tags=["tracking"],
)
async def click_redirect(
    token: FromPath[str], request: Request[Any, Any, Any], public_tracking: PublicTrackingApi
) -> Response[bytes]:
    client = _client(request)
    retry_after = public_tracking.flood_guard.admit(client or "")
    if retry_after is not None:
        raise RateLimited(RATE_LIMITED, retry_after_seconds=retry_after)
    location = location_of(
        await public_tracking.service.record_click(
            token, ip_address=client, user_agent=request.headers.get("user-agent")
        )
    )
    if location is None:
        raise NotFound(UNKNOWN_LINK)
    return Response(b"", status_code=HTTP_302_FOUND, headers=NO_STORE | {"Location": location})
