"""The tracking area bound to its ports: the public endpoints' use cases, the worker's drain and
the statistics."""

from __future__ import annotations

from dataclasses import dataclass

from openmailer.core.accounts.model import Principal
from openmailer.core.errors import NotFound
from openmailer.core.pages import KeysetPage
from openmailer.core.ports.accounts import Clock
from openmailer.core.ports.tracking import (
    CampaignStatsReader,
    EventStore,
    HitBuffer,
    HitStream,
    LinkDirectory,
    TrackingTokens,
)
from openmailer.core.registry import Registry
from openmailer.core.tracking.model import (
    CampaignStats,
    EventKind,
    Hit,
    RecipientActivity,
    RecipientStatus,
    TrackingHandler,
)

# Longer than any token sender_rs writes (a tracking id of at most 64 characters, today
# `{campaign_id}-{32 hex}`, a link index, a 22-character MAC): anything longer is refused
# before the MAC is even computed.
MAX_TOKEN_CHARS = 160
MAX_USER_AGENT_CHARS = 512


@dataclass(frozen=True)
class TrackingPorts:
    tokens: TrackingTokens
    links: LinkDirectory
    buffer: HitBuffer
    stats: CampaignStatsReader
    clock: Clock


@dataclass(frozen=True)
class DrainPorts:
    stream: HitStream
    store: EventStore
    handlers: Registry[TrackingHandler]


class TrackingService:
    def __init__(self, ports: TrackingPorts) -> None:
        self.ports = ports

    async def record_open(
        self, token: str, *, ip_address: str | None, user_agent: str | None
    ) -> bool:
        """True when the token is authentic and its open is buffered; False records nothing."""
        if len(token) > MAX_TOKEN_CHARS:
            return False
        tracking_id = await self.ports.tokens.open_tracking_id(token)
        if tracking_id is None:
            return False
        await self.ports.buffer.append(
            Hit(
                kind=EventKind.OPEN,
                tracking_id=tracking_id,
                occurred_at=self.ports.clock.now(),
                ip_address=ip_address,
                user_agent=_bounded(user_agent),
            )
        )
        return True

    async def record_click(
        self, token: str, *, ip_address: str | None, user_agent: str | None
    ) -> str | None:
        """The recorded URL to redirect to, its click buffered; None (nothing recorded) for a
        forged token or a link the campaign did not record."""
        if len(token) > MAX_TOKEN_CHARS:
            return None
        target = await self.ports.tokens.click_target(token)
        if target is None:
            return None
        tracking_id, link_index = target
        url = await self.ports.links.url_for(tracking_id, link_index)
        if url is None:
            return None
        await self.ports.buffer.append(
            Hit(
                kind=EventKind.CLICK,
                tracking_id=tracking_id,
                link_index=link_index,
                occurred_at=self.ports.clock.now(),
                ip_address=ip_address,
                user_agent=_bounded(user_agent),
            )
        )
        return url

    async def campaign_stats(self, principal: Principal, campaign_id: int) -> CampaignStats:
        stats = await self.ports.stats.stats(principal.user.id, campaign_id)
        if stats is None:
            raise NotFound("no such campaign", code="campaign_not_found")
        return stats

    async def campaign_recipients(
        self,
        principal: Principal,
        campaign_id: int,
        *,
        status: RecipientStatus | None,
        limit: int,
        after: str | None,
    ) -> KeysetPage[RecipientActivity]:
        page = await self.ports.stats.recipients(
            principal.user.id, campaign_id, status=status, limit=limit, after=after
        )
        if page is None:
            raise NotFound("no such campaign", code="campaign_not_found")
        return page


def ordered_handlers(handlers: Registry[TrackingHandler]) -> list[TrackingHandler]:
    return sorted(handlers.values(), key=lambda handler: handler.order)


async def drain(ports: DrainPorts, *, batch_size: int = 500, max_batches: int = 1000) -> int:
    """Apply buffered hits batch by batch until none is waiting; returns the new events.

    Entries of consumers that died holding them are taken over first. A batch is acknowledged
    only after the store committed it: a crash in between delivers it again, and the store
    recognises its events (their ids are recorded in the same transaction), so nothing is lost
    and nothing counts twice.
    """
    handlers = ordered_handlers(ports.handlers)
    applied = 0
    for _ in range(max_batches):
        batch = await ports.stream.claim_stale(batch_size) or await ports.stream.read(batch_size)
        if not batch:
            break
        applied += await ports.store.apply(batch, handlers)
        await ports.stream.acknowledge([entry.event_id for entry in batch])
    return applied


def _bounded(user_agent: str | None) -> str | None:
    return None if user_agent is None else user_agent[:MAX_USER_AGENT_CHARS]
