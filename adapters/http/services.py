"""How controllers reach their area's service: bound once in the app's lifespan, by name."""

from __future__ import annotations

from typing import Any

from litestar.datastructures import State
from litestar.di import Provide


def service_dependency(name: str) -> Provide:
    """A dependency that hands a controller the service its area registered as `name`."""

    def provide(state: State) -> Any:
        return state.services[name]

    return Provide(provide, sync_to_thread=False)
