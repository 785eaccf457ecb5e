"""How the page controllers reach the recipient pages' service (bound in the app's lifespan)."""

from __future__ import annotations

from litestar.di import NamedDependency

from openmailer.adapters.http.services import service_dependency
from openmailer.core.recipients.service import RecipientPagesService

PagesApi = NamedDependency[RecipientPagesService]
PAGES_DEPENDENCIES = {"pages": service_dependency("pages")}
