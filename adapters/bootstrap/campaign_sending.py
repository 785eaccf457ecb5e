"""The campaign send path bound to its adapters: PostgreSQL (the leased rows), Redis (the
send-speed buckets, the wake-up keys, the broker), sender_rs and the process's provider chain."""

from __future__ import annotations

from openmailer.adapters.bootstrap.campaigns import build_campaigns
from openmailer.adapters.bootstrap.resources import Resources, SystemClock, builtin_areas
from openmailer.adapters.bootstrap.sending import build_provider_chain
from openmailer.adapters.crypto.secret_box import AesGcmSecretBox
from openmailer.adapters.db.campaign_sending import SqlAlchemyCampaignSendStore
from openmailer.adapters.db.campaigns import (
    SqlAlchemyCampaignRepository,
    SqlAlchemyCampaignTemplates,
)
from openmailer.adapters.db.domains import SqlAlchemyDomainRepository
from openmailer.adapters.db.installation_keys import InstallationKey, tracking_key
from openmailer.adapters.db.outbox import SqlAlchemyOutboxStore
from openmailer.adapters.db.templates import SqlAlchemyTemplateRepository
from openmailer.adapters.db.users import SqlAlchemyUserRepository
from openmailer.adapters.metrics.sending import PrometheusDeliveryObserver
from openmailer.adapters.native.sender import SenderRsMessageRenderer
from openmailer.adapters.redis.send_throttle import RedisSendThrottle
from openmailer.adapters.workers.campaign_queue import DramatiqCampaignQueue
from openmailer.core.campaigns.sending_service import CampaignSendingService
from openmailer.core.campaigns.services.delivery import DeliveryPorts, SendSettings
from openmailer.core.ports.campaign_sending import CampaignQueue
from openmailer.core.registry import Registry
from openmailer.core.segments.operators import SegmentOperator
from openmailer.core.sending.contract import ProviderType

__all__ = ["build_campaign_sending"]


class EngineTrackingKey:
    """The installation's tracking key, created on first use (`TrackingKeySource`)."""

    def __init__(self, resources: Resources, key: InstallationKey) -> None:
        self._engine = resources.engine
        self._key = key

    async def get(self) -> bytes:
        return await self._key.get_or_create(self._engine)


def build_campaign_sending(
    resources: Resources,
    operators: Registry[SegmentOperator],
    *,
    provider_types: Registry[ProviderType] | None = None,
    queue: CampaignQueue | None = None,
    renderer_threads: int | None = 1,
) -> CampaignSendingService:
    """`renderer_threads`: sender_rs's threads per batch (one in the API, whose requests render
    a test send at most; a worker renders whole batches)."""
    engine = resources.engine
    settings = resources.settings
    box = AesGcmSecretBox(settings.secret_keys)
    assert settings.redis_url is not None  # Resources are only made with both URLs
    campaigns = build_campaigns(resources, operators)
    delivery = DeliveryPorts(
        campaigns=SqlAlchemyCampaignRepository(engine),
        store=SqlAlchemyCampaignSendStore(engine),
        templates=SqlAlchemyCampaignTemplates(engine),
        template_versions=SqlAlchemyTemplateRepository(engine),
        domains=SqlAlchemyDomainRepository(engine),
        renderer=SenderRsMessageRenderer(threads=renderer_threads),
        chain=build_provider_chain(resources, provider_types),
        provider_types=builtin_areas().providers if provider_types is None else provider_types,
        outbox=SqlAlchemyOutboxStore(engine),
        secret_box=box,
        tracking_key=EngineTrackingKey(resources, tracking_key(box)),
        throttle=RedisSendThrottle(resources.redis),
        queue=queue or DramatiqCampaignQueue(settings.redis_url, resources.redis),
        users=SqlAlchemyUserRepository(engine),
        clock=SystemClock(),
        base_url=settings.base_url,
        settings=SendSettings(
            batch_size=settings.campaign_batch_size,
            lanes=settings.campaign_lanes,
            lease_seconds=settings.campaign_lease_seconds,
            retry_backoff_seconds=settings.campaign_retry_backoff,
        ),
        observer=PrometheusDeliveryObserver(),
    )
    return CampaignSendingService(delivery, campaigns.ports.preflight)
