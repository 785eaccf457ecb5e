"""The built-in tracking handlers, registered exactly as a third party's would be.

Each receives the batch's transaction and its events never applied before, and writes
set-based: one statement per table per batch, whatever the batch's size.

- `recipients`: people's opens and clicks move `open_count`, `click_count`, the first
  `opened_at` / `clicked_at` and the status (OPENED, CLICKED: only once the send's result is
  written, so a fast scanner never overtakes the send path's own status); machines' move
  `machine_open_count` / `machine_click_count` only.
- `clicks`: a `campaign_clicks` row per click, a machine's flagged `is_machine`.
- `links`: people's clicks move the link's `click_count`, and `unique_click_count` once per
  recipient.
- `campaign-rates`: the campaigns' `open_rate` and `click_rate`, recounted from their
  recipients (people only, per message sent).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from openmailer.core.registry import Registrar
from openmailer.core.tracking.model import Event, EventKind, TrackingHandler, naive_utc
from openmailer.plugins import hookimpl

# Statuses a recipient's status may move on from, to OPENED / CLICKED.
_ADVANCES = """
  status = CASE
    WHEN v.clicks > 0 AND r.status IN ('SENT', 'DELIVERED', 'OPENED') THEN 'CLICKED'
    WHEN v.opens > 0 AND r.status IN ('SENT', 'DELIVERED') THEN 'OPENED'
    ELSE r.status END"""

_RECIPIENTS = text(
    f"""
UPDATE campaign_recipients AS r SET
  open_count = coalesce(r.open_count, 0) + v.opens,
  click_count = coalesce(r.click_count, 0) + v.clicks,
  machine_open_count = coalesce(r.machine_open_count, 0) + v.machine_opens,
  machine_click_count = coalesce(r.machine_click_count, 0) + v.machine_clicks,
  opened_at = LEAST(r.opened_at, v.first_open),
  clicked_at = LEAST(r.clicked_at, v.first_click),
  {_ADVANCES},
  updated_at = CURRENT_TIMESTAMP
FROM unnest(
  CAST(:ids AS BIGINT[]), CAST(:opens AS INTEGER[]), CAST(:clicks AS INTEGER[]),
  CAST(:machine_opens AS INTEGER[]), CAST(:machine_clicks AS INTEGER[]),
  CAST(:first_open AS TIMESTAMP[]), CAST(:first_click AS TIMESTAMP[])
) AS v(id, opens, clicks, machine_opens, machine_clicks, first_open, first_click)
WHERE r.id = v.id
"""  # noqa: S608 (constant fragments, no input)
)


def _earliest(current: datetime | None, moment: datetime) -> datetime:
    return moment if current is None or moment < current else current


async def apply_to_recipients(conn: AsyncConnection, events: Sequence[Event]) -> None:
    if not events:
        return
    counts: dict[int, Counter[str]] = defaultdict(Counter)
    first_open: dict[int, datetime | None] = defaultdict(lambda: None)
    first_click: dict[int, datetime | None] = defaultdict(lambda: None)
    for event in events:
        person = not event.is_machine
        column = event.kind.value + "s" if person else f"machine_{event.kind.value}s"
        counts[event.recipient_id][column] += 1
        moment = naive_utc(event.occurred_at)
        if person and event.kind is EventKind.OPEN:
            first_open[event.recipient_id] = _earliest(first_open[event.recipient_id], moment)
        elif person:
            first_click[event.recipient_id] = _earliest(first_click[event.recipient_id], moment)
    ids = sorted(counts)  # row locks taken in id order, like the send path's
    await conn.execute(
        _RECIPIENTS,
        {
            "ids": ids,
            "opens": [counts[i]["opens"] for i in ids],
            "clicks": [counts[i]["clicks"] for i in ids],
            "machine_opens": [counts[i]["machine_opens"] for i in ids],
            "machine_clicks": [counts[i]["machine_clicks"] for i in ids],
            "first_open": [first_open[i] for i in ids],
            "first_click": [first_click[i] for i in ids],
        },
    )


_CLICKS = text(
    """
INSERT INTO campaign_clicks
  (campaign_id, recipient_id, link_id, clicked_at, ip_address, user_agent, is_machine)
SELECT * FROM unnest(
  CAST(:campaigns AS BIGINT[]), CAST(:recipients AS BIGINT[]), CAST(:links AS BIGINT[]),
  CAST(:moments AS TIMESTAMP[]), CAST(:ips AS VARCHAR[]), CAST(:agents AS TEXT[]),
  CAST(:machines AS BOOLEAN[])
)
"""
)


def _clicks(events: Sequence[Event]) -> list[Event]:
    return [event for event in events if event.kind is EventKind.CLICK]


async def record_clicks(conn: AsyncConnection, events: Sequence[Event]) -> None:
    clicks = _clicks(events)
    if not clicks:
        return
    await conn.execute(
        _CLICKS,
        {
            "campaigns": [c.campaign_id for c in clicks],
            "recipients": [c.recipient_id for c in clicks],
            "links": [c.link_id for c in clicks],
            "moments": [naive_utc(c.occurred_at) for c in clicks],
            "ips": [c.ip_address for c in clicks],
            "agents": [c.user_agent for c in clicks],
            "machines": [c.is_machine for c in clicks],
        },
    )


# A recipient's click is unique when no person's click of that recipient on that link was
# applied in an earlier batch (the batch's own rows are already in tracking_events: excluded).
_LINKS = text(
    """
WITH batch AS (
  SELECT * FROM unnest(CAST(:links AS BIGINT[]), CAST(:recipients AS BIGINT[]))
    AS b(link_id, recipient_id)
), counted AS (
  SELECT link_id, count(*) AS clicks,
    count(DISTINCT recipient_id) FILTER (WHERE NOT EXISTS (
      SELECT 1 FROM tracking_events e
      WHERE e.recipient_id = batch.recipient_id AND e.link_id = batch.link_id
        AND e.kind = 'click' AND NOT e.is_machine AND e.event_id <> ALL(CAST(:batch AS TEXT[]))
    )) AS unique_clicks
  FROM batch GROUP BY link_id
)
UPDATE campaign_links AS l SET
  click_count = coalesce(l.click_count, 0) + counted.clicks,
  unique_click_count = coalesce(l.unique_click_count, 0) + counted.unique_clicks
FROM counted WHERE l.id = counted.link_id
"""
)


async def count_link_clicks(conn: AsyncConnection, events: Sequence[Event]) -> None:
    people = [click for click in _clicks(events) if not click.is_machine]
    if not people:
        return
    await conn.execute(
        _LINKS,
        {
            "links": [c.link_id for c in people],
            "recipients": [c.recipient_id for c in people],
            "batch": [c.event_id for c in people],
        },
    )


# What the statistics call "sent" (adapters/db/campaign_stats.py): a send result was written.
SENT_RECIPIENT = (
    "(r.sent_at IS NOT NULL OR r.status IN ('SENT', 'DELIVERED', 'OPENED', 'CLICKED', 'BOUNCED'))"
)

_RATES = text(
    f"""
WITH counted AS (
  SELECT r.campaign_id,
    count(*) FILTER (WHERE {SENT_RECIPIENT}) AS sent,
    count(*) FILTER (WHERE r.opened_at IS NOT NULL) AS opened,
    count(*) FILTER (WHERE r.clicked_at IS NOT NULL) AS clicked
  FROM campaign_recipients r WHERE r.campaign_id = ANY(CAST(:campaigns AS BIGINT[]))
  GROUP BY r.campaign_id
)
UPDATE email_campaigns AS c SET
  open_rate = CASE WHEN sent > 0 THEN round(100.0 * LEAST(opened, sent) / sent, 2) ELSE 0 END,
  click_rate = CASE WHEN sent > 0 THEN round(100.0 * LEAST(clicked, sent) / sent, 2) ELSE 0 END
FROM counted WHERE c.id = counted.campaign_id
"""  # noqa: S608 (constant fragments, no input)
)


async def update_campaign_rates(conn: AsyncConnection, events: Sequence[Event]) -> None:
    campaigns = sorted({event.campaign_id for event in events if not event.is_machine})
    if campaigns:
        await conn.execute(_RATES, {"campaigns": campaigns})


BUILT_IN: dict[str, TrackingHandler] = {
    "recipients": TrackingHandler(
        apply_to_recipients, "recipients' counts, first open and click, status", order=10
    ),
    "clicks": TrackingHandler(record_clicks, "a campaign_clicks row per click", order=20),
    "links": TrackingHandler(count_link_clicks, "the links' click counts", order=30),
    "campaign-rates": TrackingHandler(
        update_campaign_rates, "the campaigns' open and click rates", order=90
    ),
}


@hookimpl
def register_tracking_handlers(handlers: Registrar[TrackingHandler]) -> None:
    for name, handler in BUILT_IN.items():
        handlers.add(name, handler)
