"""Tracking bound to its adapters: the public endpoints' service and the worker's drain."""

from __future__ import annotations

from openmailer.adapters.bootstrap.resources import Resources, SystemClock
from openmailer.adapters.crypto.secret_box import AesGcmSecretBox
from openmailer.adapters.db.campaign_stats import SqlAlchemyCampaignStats
from openmailer.adapters.db.installation_keys import tracking_key
from openmailer.adapters.db.tracking_events import SqlAlchemyEventStore
from openmailer.adapters.db.tracking_links import SqlAlchemyLinkDirectory
from openmailer.adapters.native.tracking_tokens import SenderRsTrackingTokens
from openmailer.adapters.redis.tracking_stream import RedisHitBuffer, RedisHitStream
from openmailer.core.registry import Registry
from openmailer.core.tracking.model import TrackingHandler
from openmailer.core.tracking.service import DrainPorts, TrackingPorts, TrackingService


def build_tracking(resources: Resources) -> TrackingService:
    engine = resources.engine
    return TrackingService(
        TrackingPorts(
            tokens=SenderRsTrackingTokens(
                tracking_key(AesGcmSecretBox(resources.settings.secret_keys)), engine
            ),
            links=SqlAlchemyLinkDirectory(engine),
            buffer=RedisHitBuffer(resources.redis),
            stats=SqlAlchemyCampaignStats(engine),
            clock=SystemClock(),
        )
    )


def build_tracking_drain(
    resources: Resources,
    handlers: Registry[TrackingHandler],
    *,
    stream: RedisHitStream | None = None,
) -> DrainPorts:
    return DrainPorts(
        stream=stream or RedisHitStream(resources.redis),
        store=SqlAlchemyEventStore(resources.engine),
        handlers=handlers,
    )
