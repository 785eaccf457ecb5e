"""The ceiling of the tracking benchmark: a bare Litestar pixel handler on the same server, the
events kept in memory (REFERENCE.md's "~9,000 req/s on one uvicorn worker")."""

from __future__ import annotations

from litestar import Litestar, Response, get

from openmailer.adapters.http.tracking.public import NO_STORE, PIXEL

EVENTS: list[str] = []


@get("/t/o/{token:str}", sync_to_thread=False)
def bare_pixel(token: str) -> Response[bytes]:
    EVENTS.append(token)
    return Response(PIXEL, media_type="image/gif", headers=NO_STORE)


def create_bare_app() -> Litestar:
    return Litestar(route_handlers=[bare_pixel])
