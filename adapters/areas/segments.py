"""Segments: saved conditions over a user's contacts (the operators are plugins of their own,
`openmailer.plugins.segment_operators` among them)."""

from __future__ import annotations

from openmailer.adapters.http.segments.segments import SegmentController
from openmailer.core.areas import HttpRoutes, ServiceBinding
from openmailer.core.registry import Registrar
from openmailer.plugins import hookimpl


@hookimpl
def register_http_routes(routes: Registrar[HttpRoutes]) -> None:
    routes.add("segments", HttpRoutes(handlers=(SegmentController,)))


@hookimpl
def register_services(services: Registrar[ServiceBinding]) -> None:
    from openmailer.adapters.bootstrap import build_segments

    services.add(
        "segments",
        ServiceBinding(lambda resources, areas: build_segments(resources, areas.segment_operators)),
    )
