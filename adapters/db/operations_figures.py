"""What a metrics scrape reads from PostgreSQL: the providers whose circuit breakers to show,
and the figures of the campaigns sending now or lately. Both bounded (a scrape every 15 s must
stay cheap however large the installation), both across every user: the reader is the operator.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


@dataclass(frozen=True, slots=True)
class CampaignFigures:
    campaign_id: int
    status: str
    send_speed: int
    sent: int
    bounced: int
    complaints: int


_ACTIVE_PROVIDERS = text(
    """
    SELECT id, provider_type FROM email_providers
    WHERE is_active IS TRUE AND status IS DISTINCT FROM 'DISABLED'
    ORDER BY id
    LIMIT :limit
    """
)

# idx_email_campaigns_status finds each kind. A PAUSED campaign counts from its pause (its
# last update): complaint-rate protection pauses a campaign, and its rates matter most then.
_RECENT_CAMPAIGNS = text(
    """
    SELECT id, status, coalesce(send_speed, 0) AS send_speed, coalesce(sent_count, 0) AS sent,
           coalesce(bounce_count, 0) AS bounced, coalesce(complaint_count, 0) AS complaints
    FROM email_campaigns
    WHERE status = 'SENDING'
       OR (status IN ('SENT', 'PAUSED')
           AND coalesce(sent_at, updated_at)
               >= timezone('UTC', now()) - make_interval(days => :days))
    ORDER BY status = 'SENDING' DESC, coalesce(sent_at, updated_at) DESC, id DESC
    LIMIT :limit
    """
)


async def active_provider_types(engine: AsyncEngine, *, limit: int) -> dict[int, str]:
    """Provider id -> type, of the providers that may carry mail (the lowest ids first)."""
    async with engine.connect() as conn:
        rows = await conn.execute(_ACTIVE_PROVIDERS, {"limit": limit})
        return {int(row.id): str(row.provider_type) for row in rows}


async def recent_campaign_figures(
    engine: AsyncEngine, *, days: int, limit: int
) -> list[CampaignFigures]:
    """Campaigns SENDING, then those SENT or PAUSED in the last `days`, newest first, at most
    `limit`."""
    async with engine.connect() as conn:
        rows = await conn.execute(_RECENT_CAMPAIGNS, {"days": days, "limit": limit})
        return [
            CampaignFigures(
                campaign_id=int(row.id),
                status=str(row.status),
                send_speed=int(row.send_speed),
                sent=int(row.sent),
                bounced=int(row.bounced),
                complaints=int(row.complaints),
            )
            for row in rows
        ]
