"""How the audience controllers reach their service: bound once per app, on first use.

The app's lifespan opens the resources; the area binds its service on them the first time a
request needs it (`build_audience`), so the area needs no line in the app itself. A test that
runs the API on fakes sets `app.state.audience` beforehand.
"""

from __future__ import annotations

from litestar.datastructures import State
from litestar.di import NamedDependency, Provide

from openmailer.adapters.bootstrap import build_audience
from openmailer.core.audience.service import AudienceService

AudienceApi = NamedDependency[AudienceService]


def provide_audience(state: State) -> AudienceService:
    audience: AudienceService | None = state.get("audience")
    if audience is None:
        audience = build_audience(state.resources)
        state.audience = audience
    return audience


AUDIENCE_DEPENDENCIES = {"audience": Provide(provide_audience, sync_to_thread=False)}
