"""`sending`: the sending area's service, bound once per app on the app's own resources."""

from __future__ import annotations

from litestar.datastructures import State
from litestar.di import NamedDependency, Provide

from openmailer.adapters.bootstrap import build_sending
from openmailer.core.sending.service import SendingService


def provide_sending(state: State) -> SendingService:
    """Bound on first use (the lifespan opened the resources; the plugins filled the registry)."""
    sending: SendingService | None = state.get("sending")
    if sending is None:
        sending = build_sending(state.resources, state.areas.providers)
        state.sending = sending
    return sending


SendingApi = NamedDependency[SendingService]
SENDING_DEPENDENCIES = {"sending": Provide(provide_sending, sync_to_thread=False)}
