"""A campaign's statistics, read from the same rows the handlers write: its recipients,
links, clicks and tracking events (so the figures always agree with the rows), plus the clicks
the monthly aggregation summed into `campaign_click_daily` (adapters/db/click_rollup.py).

An archived campaign (adapters/db/campaign_archive.py) answers the summary its archive row
kept: the very answer it gave when archived. The reads share one snapshot (REPEATABLE READ),
so an aggregation or an archive committing between them never shows half of its work.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openmailer.adapters.db.tables import (
    CampaignRecipient,
    Contact,
    EmailCampaign,
    EmailCampaignArchive,
)
from openmailer.core.errors import NotFound, ValidationError
from openmailer.core.pages import KeysetPage, decode_cursor, encode_cursor
from openmailer.core.tracking.model import (
    CampaignStats,
    LinkClicks,
    RecipientActivity,
    RecipientStatus,
    SeriesPoint,
)
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
  + (SELECT coalesce(sum(d.machine_clicks), 0) FROM campaign_click_daily d
     WHERE d.campaign_id = l.campaign_id AND d.link_id = l.id) AS machine_clicks
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


RECIPIENTS: Table = CampaignRecipient.__table__  # type: ignore[assignment]
CONTACTS: Table = Contact.__table__  # type: ignore[assignment]
CAMPAIGNS: Table = EmailCampaign.__table__  # type: ignore[assignment]
ARCHIVE: Table = EmailCampaignArchive.__table__  # type: ignore[assignment]


def archived_campaign_gone(campaign_id: int) -> NotFound:
    return NotFound(
        f"campaign {campaign_id} is archived: its recipients were removed, its figures remain"
        f" at /api/v1/campaigns/{campaign_id}/stats",
        code="campaign_archived",
    )


class SqlAlchemyCampaignStats:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def stats(self, user_id: int, campaign_id: int) -> CampaignStats | None:
        async with self._engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="REPEATABLE READ")
            archived = (
                await conn.execute(
                    select(ARCHIVE).where(
                        ARCHIVE.c.id == campaign_id, ARCHIVE.c.created_by == user_id
                    )
                )
            ).first()
            if archived is not None:
                return archived_stats(archived._mapping)
            return await live_stats(conn, user_id, campaign_id)

    async def recipients(
        self,
        user_id: int,
        campaign_id: int,
        *,
        status: RecipientStatus | None,
        limit: int,
        after: str | None,
    ) -> KeysetPage[RecipientActivity] | None:
        statement = (
            select(RECIPIENTS, CONTACTS.c.email)
            .join(CONTACTS, CONTACTS.c.id == RECIPIENTS.c.contact_id)
            .where(RECIPIENTS.c.campaign_id == campaign_id)
        )
        if status is not None:
            statement = statement.where(RECIPIENTS.c.status == status.value)
        if after is not None:
            (last,) = decode_cursor(after, arity=1)
            if not isinstance(last, int):
                raise ValidationError(
                    "the cursor is malformed or expired", field="after", code="bad_cursor"
                )
            statement = statement.where(RECIPIENTS.c.id > last)
        statement = statement.order_by(RECIPIENTS.c.id).limit(limit + 1)
        async with self._engine.connect() as conn:
            owned = await conn.scalar(
                select(CAMPAIGNS.c.id).where(
                    CAMPAIGNS.c.id == campaign_id, CAMPAIGNS.c.created_by == user_id
                )
            )
            # Archived (or being archived: the rows are going) answers so from the first step.
            if await conn.scalar(
                select(ARCHIVE.c.id).where(
                    ARCHIVE.c.id == campaign_id, ARCHIVE.c.created_by == user_id
                )
            ):
                raise archived_campaign_gone(campaign_id)
            if owned is None:
                return None
            rows = (await conn.execute(statement)).all()
        items = [_activity(row._mapping) for row in rows[:limit]]
        more = len(rows) > limit
        return KeysetPage(
            items=items, limit=limit, next_cursor=encode_cursor([items[-1].id]) if more else None
        )


async def live_stats(conn: AsyncConnection, user_id: int, campaign_id: int) -> CampaignStats | None:
    """The figures of a campaign still in `email_campaigns`, from its rows."""
    totals = (await conn.execute(_TOTALS, {"campaign": campaign_id, "user": user_id})).one_or_none()
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
                machine_clicks=int(row.machine_clicks),
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


_COUNTS = tuple(
    name for name in CampaignStats.__dataclass_fields__ if name not in ("links", "series")
)


def summary_of(stats: CampaignStats) -> dict[str, Any]:
    """The JSON `email_campaigns_archive.summary` keeps (series hours as ISO 8601, UTC)."""
    return {
        **{name: getattr(stats, name) for name in _COUNTS},
        "links": [
            {name: getattr(link, name) for name in LinkClicks.__dataclass_fields__}
            for link in stats.links
        ],
        "series": [
            {
                **{name: getattr(point, name) for name in SeriesPoint.__dataclass_fields__},
                "bucket": point.bucket.isoformat(),
            }
            for point in stats.series
        ],
    }


def archived_stats(row: Any) -> CampaignStats:
    summary = row["summary"]
    if summary is None:  # archived before migration 037: only the spec's columns remain
        return CampaignStats(
            campaign_id=row["id"],
            recipients=row["total_recipients"] or 0,
            sent=row["sent_count"] or 0,
            delivered=0,
            failed=row["failed_count"] or 0,
            bounced=row["bounce_count"] or 0,
            complained=row["complaint_count"] or 0,
            unsubscribed=row["unsubscribe_count"] or 0,
            opened=0,
            clicked=0,
            machine_opened=0,
            machine_clicked=0,
            opens=0,
            clicks=0,
            machine_opens=0,
            machine_clicks=0,
        )
    return CampaignStats(
        **{name: summary[name] for name in _COUNTS},
        links=[LinkClicks(**link) for link in summary["links"]],
        series=[
            SeriesPoint(**{**point, "bucket": datetime.fromisoformat(point["bucket"])})
            for point in summary["series"]
        ],
    )


def _activity(row: Any) -> RecipientActivity:
    return RecipientActivity(
        id=row["id"],
        contact_id=row["contact_id"],
        email=row["email"],
        status=row["status"],
        sent_at=row["sent_at"],
        delivered_at=row["delivered_at"],
        opened_at=row["opened_at"],
        clicked_at=row["clicked_at"],
        bounced_at=row["bounced_at"],
        complained_at=row["complained_at"],
        open_count=row["open_count"] or 0,
        click_count=row["click_count"] or 0,
        machine_open_count=row["machine_open_count"] or 0,
        machine_click_count=row["machine_click_count"] or 0,
        error_message=row["error_message"],
    )
