"""A campaign's statistics, read from the same rows the handlers write: its recipients,
links, clicks and tracking events (so the figures always agree with the rows)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from openmailer.core.tracking.model import CampaignStats, LinkClicks, SeriesPoint
from openmailer.plugins.tracking_handlers import SENT_RECIPIENT

_TOTALS = text(
    f"""
SELECT c.id, coalesce(c.unsubscribe_count, 0) AS unsubscribed,
  count(r.id) AS recipients,
  count(r.id) FILTER (WHERE {SENT_RECIPIENT}) AS sent,
  count(r.id) FILTER (WHERE r.delivered_at IS NOT NULL OR r.status = 'DELIVERED') AS delivered,
  count(r.id) FILTER (WHERE r.status = 'FAILED') AS failed,
  count(r.id) FILTER (WHERE r.bounced_at IS NOT NULL OR r.status = 'BOUNCED') AS bounced,
  count(r.id) FILTER (WHERE r.complained_at IS NOT NULL) AS complained,
  count(r.id) FILTER (WHERE r.opened_at IS NOT NULL) AS opened,
  count(r.id) FILTER (WHERE r.clicked_at IS NOT NULL) AS clicked,
  count(r.id) FILTER (WHERE r.machine_open_count > 0) AS machine_opened,
  count(r.id) FILTER (WHERE r.machine_click_count > 0) AS machine_clicked,
  coalesce(sum(r.open_count), 0) AS opens,
  coalesce(sum(r.click_count), 0) AS clicks,
  coalesce(sum(r.machine_open_count), 0) AS machine_opens,
  coalesce(sum(r.machine_click_count), 0) AS machine_clicks
FROM email_campaigns c LEFT JOIN campaign_recipients r ON r.campaign_id = c.id
WHERE c.id = :campaign AND c.created_by = :user
GROUP BY c.id
"""  # noqa: S608 (constant fragments, no input)
)

_LINKS = text(
    """
SELECT l.id, l.link_index, l.original_url,
  coalesce(l.click_count, 0) AS clicks, coalesce(l.unique_click_count, 0) AS unique_clicks,
  (SELECT count(*) FROM campaign_clicks k WHERE k.link_id = l.id AND k.is_machine)
    AS machine_clicks
FROM campaign_links l WHERE l.campaign_id = :campaign ORDER BY l.link_index
"""
)

_SERIES = text(
    """
SELECT date_trunc('hour', occurred_at) AS bucket,
  count(*) FILTER (WHERE kind = 'open' AND NOT is_machine) AS opens,
  count(*) FILTER (WHERE kind = 'click' AND NOT is_machine) AS clicks,
  count(*) FILTER (WHERE kind = 'open' AND is_machine) AS machine_opens,
  count(*) FILTER (WHERE kind = 'click' AND is_machine) AS machine_clicks
FROM tracking_events WHERE campaign_id = :campaign
GROUP BY bucket ORDER BY bucket
"""
)


class SqlAlchemyCampaignStats:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def stats(self, user_id: int, campaign_id: int) -> CampaignStats | None:
        async with self._engine.connect() as conn:
            totals = (
                await conn.execute(_TOTALS, {"campaign": campaign_id, "user": user_id})
            ).one_or_none()
            if totals is None:
                return None
            links = await conn.execute(_LINKS, {"campaign": campaign_id})
            series = await conn.execute(_SERIES, {"campaign": campaign_id})
            return CampaignStats(
                campaign_id=campaign_id,
                recipients=totals.recipients,
                sent=totals.sent,
                delivered=totals.delivered,
                failed=totals.failed,
                bounced=totals.bounced,
                complained=totals.complained,
                unsubscribed=totals.unsubscribed,
                opened=totals.opened,
                clicked=totals.clicked,
                machine_opened=totals.machine_opened,
                machine_clicked=totals.machine_clicked,
                opens=int(totals.opens),
                clicks=int(totals.clicks),
                machine_opens=int(totals.machine_opens),
                machine_clicks=int(totals.machine_clicks),
                links=[
                    LinkClicks(
                        link_id=row.id,
                        link_index=row.link_index,
                        url=row.original_url,
                        clicks=row.clicks,
                        unique_clicks=row.unique_clicks,
                        machine_clicks=row.machine_clicks,
                    )
                    for row in links
                ],
                series=[
                    SeriesPoint(
                        bucket=row.bucket,
                        opens=row.opens,
                        clicks=row.clicks,
                        machine_opens=row.machine_opens,
                        machine_clicks=row.machine_clicks,
                    )
                    for row in series
                ],
            )
