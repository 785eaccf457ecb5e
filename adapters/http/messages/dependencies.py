"""`messages`: the messages area's service, bound once in the app's lifespan through
`register_services`."""

from __future__ import annotations

from litestar.di import NamedDependency

from openmailer.adapters.http.services import service_dependency
from openmailer.core.messages.service import MessagesService

MessagesApi = NamedDependency[MessagesService]
MESSAGES_DEPENDENCIES = {"messages": service_dependency("messages")}
