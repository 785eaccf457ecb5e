"""The monthly `aggregate-clicks` retention job: detailed clicks older than their owner's
click-log choice (30 days, 90 days or a year; `campaign_clicks.clicked_at`) are summed into
`campaign_click_daily` and deleted.

Each batch summarises and deletes the same rows in one short transaction (a data-modifying
statement: the rows a DELETE returns are the rows added), so a crash between batches, or a
second run, never counts a click twice. Rows another transaction holds (a contact's erasure)
are skipped, not waited for; the next run takes them.

The click events in `tracking_events` stay: they are the statistics' hourly series and the
links' "first click of this recipient" test, so deleting them would change both. They hold the
same personal detail as the click rows, though, so the job clears their IP address and user
agent once aged (`tracking_events_anonymised` in the report); they go with the campaign when it
is archived (adapters/db/campaign_archive.py). A click and its event are written together with
the same instant, so the events to clear are those from the campaign's oldest aged click up to
the cutoff: the job clears them first, then rolls the clicks up (a run stopped between the two
finds the same clicks again), and never rereads the events it cleared in earlier months.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import partial

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openmailer.adapters.db.retention.batches import repeat_until_short
from openmailer.adapters.db.retention.choices import cutoff_join, cutoff_parameters
from openmailer.core.retention.model import RetentionRun
from openmailer.core.retention.policy import DEFAULT_SETTINGS, ClickLogs

# Campaigns with aged clicks: the owner's cutoff and the oldest aged click.
_CAMPAIGNS = text(
    f"""
SELECT aged.* FROM (
  SELECT c.id, cutoff.before, (SELECT min(k.clicked_at) FROM campaign_clicks k
      WHERE k.campaign_id = c.id AND k.clicked_at < cutoff.before) AS oldest
  FROM email_campaigns c
  {cutoff_join("click_logs", "c.created_by")}
) AS aged WHERE aged.oldest IS NOT NULL
ORDER BY aged.id
"""  # noqa: S608 (constant fragments, no input)
)

_AGED_CLICK = "k.campaign_id = :campaign AND k.clicked_at < :before"
_ROLL_UP = text(
    f"""
WITH aged AS (
  SELECT k.id FROM campaign_clicks k WHERE {_AGED_CLICK}
  LIMIT :batch FOR UPDATE SKIP LOCKED
), removed AS (
  DELETE FROM campaign_clicks k USING aged WHERE k.id = aged.id
  RETURNING k.link_id, CAST(k.clicked_at AS DATE) AS day, k.is_machine
), added AS (
  INSERT INTO campaign_click_daily AS d (campaign_id, link_id, day, clicks, machine_clicks)
  SELECT :campaign, link_id, day,
    count(*) FILTER (WHERE NOT is_machine), count(*) FILTER (WHERE is_machine)
  FROM removed GROUP BY link_id, day
  ORDER BY link_id, day  -- concurrent runs lock the daily rows in one order
  ON CONFLICT (campaign_id, link_id, day) DO UPDATE SET
    clicks = d.clicks + excluded.clicks, machine_clicks = d.machine_clicks + excluded.machine_clicks
)
SELECT count(*) FROM removed
"""  # noqa: S608 (constant fragments, no input)
)

# The click events from the oldest aged click to the cutoff, in (occurred_at, event_id) pages
# (a keyset: a page never rereads the rows the pages before it cleared).
_EVENTS_IN_RANGE = (
    "e.campaign_id = :campaign AND e.kind = 'click'"
    " AND e.occurred_at >= :oldest AND e.occurred_at < :before"
)
_ANONYMISE = text(
    f"""
WITH page AS (
  SELECT e.event_id, e.occurred_at FROM tracking_events e
  WHERE {_EVENTS_IN_RANGE}
    AND (e.occurred_at, e.event_id) > (CAST(:after_at AS TIMESTAMP), CAST(:after_id AS TEXT))
  ORDER BY e.occurred_at, e.event_id LIMIT :batch FOR UPDATE SKIP LOCKED
), cleared AS (
  UPDATE tracking_events e SET ip_address = NULL, user_agent = NULL FROM page
  WHERE e.event_id = page.event_id AND (e.ip_address IS NOT NULL OR e.user_agent IS NOT NULL)
  RETURNING 1
)
SELECT (SELECT count(*) FROM cleared) AS cleared, count(*) AS seen,
  max(page.occurred_at) AS last_at,
  max(page.event_id) FILTER (WHERE page.occurred_at = (SELECT max(occurred_at) FROM page))
    AS last_id
FROM page
"""  # noqa: S608 (constant fragments, no input)
)

_COUNT_CLICKS = text(f"SELECT count(*) FROM campaign_clicks k WHERE {_AGED_CLICK}")  # noqa: S608
_COUNT_EVENTS = text(
    f"SELECT count(*) FROM tracking_events e WHERE {_EVENTS_IN_RANGE}"  # noqa: S608
    " AND (e.ip_address IS NOT NULL OR e.user_agent IS NOT NULL)"
)


async def aggregate_clicks(engine: AsyncEngine, run: RetentionRun) -> Mapping[str, int]:
    """Rows of `campaign_clicks` removed and click events anonymised (with `run.dry_run`: that
    would be; nothing changes)."""
    clicks = events = 0
    async with engine.connect() as conn:
        campaigns = (
            await conn.execute(
                _CAMPAIGNS, cutoff_parameters(run.now, ClickLogs, DEFAULT_SETTINGS.click_logs)
            )
        ).all()
    for campaign, before, oldest in campaigns:
        where = {"campaign": campaign, "before": before, "oldest": oldest}
        if run.dry_run:
            async with engine.connect() as conn:
                clicks += int(await conn.scalar(_COUNT_CLICKS, where) or 0)
                events += int(await conn.scalar(_COUNT_EVENTS, where) or 0)
            continue
        events += await _anonymise(engine, where, run.batch_size)
        batch = {**where, "batch": run.batch_size}
        clicks += await repeat_until_short(
            engine, partial(_roll_up, parameters=batch), run.batch_size
        )
    return {"campaign_clicks": clicks, "tracking_events_anonymised": events}


async def _roll_up(conn: AsyncConnection, parameters: Mapping[str, object]) -> int:
    return int(await conn.scalar(_ROLL_UP, parameters) or 0)


async def _anonymise(engine: AsyncEngine, where: Mapping[str, object], size: int) -> int:
    """Page by page, each its own transaction; the events cleared."""
    cleared = 0
    after: tuple[datetime, str] = (datetime.min, "")
    while True:
        async with engine.begin() as conn:
            page = (
                await conn.execute(
                    _ANONYMISE,
                    {**where, "batch": size, "after_at": after[0], "after_id": after[1]},
                )
            ).one()
        cleared += int(page.cleared)
        if page.seen < size:
            return cleared
        after = (page.last_at, page.last_id)
