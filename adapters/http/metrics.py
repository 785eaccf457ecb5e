"""`GET /metrics`: the Prometheus text format, for loopback clients or a bearer token.

A root route like `/health`: it declares no API access (no API key or session is asked; the app's
guard lets it through) and decides itself who may read it (adapters/metrics/exposure.py): with
OPENMAILER_METRICS_TOKEN set, `Authorization: Bearer <token>` from any address; without, loopback
clients only (behind a proxy on the same machine, set OPENMAILER_TRUSTED_PROXIES so that the
forwarded client is judged, or a token). Anyone else gets the 404 of an unknown path. The
answer sums this host's API processes' samples and adds what a scrape reads live from Redis and
PostgreSQL (adapters/metrics/live.py).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.exceptions import NotFoundException
from litestar.openapi.datastructures import ResponseSpec
from litestar.response import Response

from openmailer.adapters.bootstrap import Resources
from openmailer.adapters.http.errors import problem_specs
from openmailer.adapters.metrics.exposure import CONTENT_TYPE, exposition, scrape_allowed
from openmailer.adapters.metrics.live import LiveFiguresCollector, read_live_figures
from openmailer.core.areas import AreaRegistries


@get(
    "/metrics",
    tags=["operations"],
    operation_id="metrics",
    cache=False,
    media_type="text/plain",
    summary="Prometheus metrics",
    description="The Prometheus text format (docs/operations.md). Loopback clients only, or "
    "with `Authorization: Bearer <OPENMAILER_METRICS_TOKEN>` when that is set; anyone else "
    "gets 404.",
    responses={
        200: ResponseSpec(str, description="the metrics", media_type="text/plain"),
        **problem_specs(404),
    },
    security=[],
)
async def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
    resources: Resources = request.app.state.resources
    peer = request.client.host if request.client else None
    token = resources.settings.metrics_token
    if not scrape_allowed(peer, request.headers.get("authorization"), token):
        raise NotFoundException()  # the very answer of a path that does not exist
    areas: AreaRegistries = request.app.state.areas
    queues = {entry.value.queue for entry in areas.actors.entries()}
    figures = await read_live_figures(resources.engine, resources.redis, queues)
    body = exposition(LiveFiguresCollector(figures))
    return Response(body, media_type=CONTENT_TYPE)
