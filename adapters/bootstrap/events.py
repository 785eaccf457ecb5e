"""Provider events (webhooks) bound to their adapters."""

from __future__ import annotations

from openmailer.adapters.bootstrap.resources import (
    DatabaseResources,
    Resources,
    SystemClock,
    builtin_areas,
)
from openmailer.adapters.crypto.secret_box import AesGcmSecretBox
from openmailer.adapters.db.webhook_events import (
    SqlAlchemyEventUnitOfWork,
    SqlAlchemyWebhookEventStore,
    SqlAlchemyWebhookSources,
)
from openmailer.adapters.providers.configurations import MsgspecProviderConfigurations
from openmailer.adapters.redis.rate_limiter import RedisRateLimiter
from openmailer.adapters.webhooks.sendgrid_signature import EcdsaSendgridSignatures
from openmailer.adapters.webhooks.sns import SnsVerifier
from openmailer.core.events.service import EventsPorts, EventsService
from openmailer.core.ports.events import EventQueue
from openmailer.core.registry import Registry
from openmailer.core.sending.contract import ProviderType
from openmailer.core.sending.model import Provider, ProviderView
from openmailer.core.sending.services.providers import view_of


def build_events(
    database: DatabaseResources,
    *,
    queue: EventQueue | None = None,
    provider_types: Registry[ProviderType] | None = None,
) -> EventsService:
    """Webhooks verified and stored on PostgreSQL, a worker woken through the Redis broker
    (unless `queue` says otherwise), refused clients counted in Redis (when the process has
    it: the API), and the events' processing."""
    from openmailer.adapters.workers.event_queue import DramatiqEventQueue, NoEventQueue

    settings = database.settings
    engine = database.engine
    if queue is None:
        queue = (
            NoEventQueue() if settings.redis_url is None else DramatiqEventQueue(settings.redis_url)
        )
    types = builtin_areas().providers if provider_types is None else provider_types
    secret_box = AesGcmSecretBox(settings.secret_keys)
    configurations = MsgspecProviderConfigurations()

    def view(provider: Provider) -> ProviderView:
        return view_of(
            provider, provider_types=types, configurations=configurations, secret_box=secret_box
        )

    return EventsService(
        EventsPorts(
            sources=SqlAlchemyWebhookSources(engine, view),
            sns=SnsVerifier(settings.sns_endpoint_override),
            sendgrid=EcdsaSendgridSignatures(),
            events=SqlAlchemyWebhookEventStore(engine),
            queue=queue,
            units=lambda: SqlAlchemyEventUnitOfWork(engine),
            clock=SystemClock(),
            refusals=RedisRateLimiter(database.redis) if isinstance(database, Resources) else None,
        )
    )
