"""The composition root: the one place that knows every concrete class and wires them together.

Every process (api, worker, scheduler, CLI) builds what it needs here: its resources, each area's
ports bound once into that area's service (`AccountsService`), and the registries the plugins
filled. Callers take overrides as arguments (tests pass fakes, other settings, extra areas).

The builders are grouped by area in this package's modules; everything is importable from here.
"""

from openmailer.adapters.bootstrap.accounts import build_accounts, build_user_admin
from openmailer.adapters.bootstrap.audience import build_audience, build_imports, build_segments
from openmailer.adapters.bootstrap.campaigns import build_campaigns, build_templates
from openmailer.adapters.bootstrap.events import build_events
from openmailer.adapters.bootstrap.recipients import build_recipient_pages
from openmailer.adapters.bootstrap.resources import (
    DatabaseResources,
    Resources,
    ServicesNotConfiguredError,
    SystemClock,
    builtin_areas,
    configure_broker,
    create_redis,
    create_service_engine,
    open_database,
    open_resources,
    require_database_url,
    require_service_urls,
)
from openmailer.adapters.bootstrap.retention import build_retention, run_retention
from openmailer.adapters.bootstrap.sending import (
    build_domains,
    build_messages,
    build_provider_chain,
    build_sending,
)
from openmailer.adapters.bootstrap.tracking import build_tracking, build_tracking_drain

__all__ = [
    "DatabaseResources",
    "Resources",
    "ServicesNotConfiguredError",
    "SystemClock",
    "build_accounts",
    "build_audience",
    "build_campaigns",
    "build_domains",
    "build_events",
    "build_imports",
    "build_messages",
    "build_provider_chain",
    "build_recipient_pages",
    "build_retention",
    "build_segments",
    "build_sending",
    "build_templates",
    "build_tracking",
    "build_tracking_drain",
    "build_user_admin",
    "builtin_areas",
    "configure_broker",
    "create_redis",
    "create_service_engine",
    "open_database",
    "open_resources",
    "require_database_url",
    "require_service_urls",
    "run_retention",
]
