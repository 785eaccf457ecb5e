"""For the end-to-end tracking test: the tracked URLs of the mails an SMTP sink received, a
tracking service whose clock the test sets (the scanner window is measured from `sent_at` to
the hit's clock, core/tracking/machines.py), and every statistic recounted from the rows."""

from __future__ import annotations

import email
import email.policy
import re
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

from litestar import Litestar
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from openmailer.adapters.http.tracking.flood import FloodGuard
from openmailer.adapters.http.tracking.public import PublicTracking
from openmailer.core.tracking.service import TrackingService
from tests.integration.sending.failover_helpers import SteppedClock
from tests.integration.sending.smtp_sink import Received

_TRACKED = re.compile(r'(?:href|src)="([^"]+/t/[oc]/[^"]+)"')


@dataclass
class TrackedMail:
    recipient: str
    pixel: str  # path
    clicks: list[str]  # paths, in the mail's link order
    html: str


def tracked_mail(received: Received, base_url: str) -> TrackedMail:
    message = email.message_from_bytes(received.data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(("html",))
    assert body is not None, "the mail has no HTML part"
    html = body.get_content()
    urls = _TRACKED.findall(html)
    for url in urls:
        assert url.startswith(base_url + "/t/"), url
    paths = [url.removeprefix(base_url) for url in urls]
    (pixel,) = [path for path in paths if path.startswith("/t/o/")]
    (recipient,) = received.recipients
    return TrackedMail(
        recipient=recipient,
        pixel=pixel,
        clicks=[path for path in paths if path.startswith("/t/c/")],
        html=html,
    )


@contextmanager
def tracking_clock(app: Litestar, start: datetime) -> Iterator[SteppedClock]:
    """The public endpoints' tracking service on a clock the test moves (and a flood guard
    of its own: every test request comes from a few addresses)."""
    services = app.state.services
    regular: PublicTracking = services["tracking-public"]
    clock = SteppedClock(start)
    service = TrackingService(replace(regular.service.ports, clock=clock))
    services["tracking-public"] = PublicTracking(service, FloodGuard())
    try:
        yield clock
    finally:
        services["tracking-public"] = regular


async def _rows(engine: AsyncEngine, sql: str, campaign_id: int) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(text(sql), {"c": campaign_id})).all())


def _rate(count: int, of: int) -> float:
    return round(100 * count / of, 2) if of else 0.0


async def recount_stats(engine: AsyncEngine, campaign_id: int) -> dict[str, Any]:
    """The stats document, every figure counted again from campaign_recipients,
    campaign_clicks, tracking_events and campaign_links (not from the counters)."""
    recipients = await _rows(
        engine, "SELECT * FROM campaign_recipients WHERE campaign_id = :c", campaign_id
    )
    clicks = await _rows(
        engine,
        "SELECT recipient_id, link_id, is_machine FROM campaign_clicks WHERE campaign_id = :c",
        campaign_id,
    )
    events = await _rows(
        engine,
        "SELECT kind, recipient_id, occurred_at, is_machine FROM tracking_events"
        " WHERE campaign_id = :c",
        campaign_id,
    )
    links = await _rows(
        engine,
        "SELECT id, link_index, original_url FROM campaign_links WHERE campaign_id = :c"
        " ORDER BY link_index",
        campaign_id,
    )
    (unsubscribed,) = await _rows(
        engine,
        "SELECT coalesce(unsubscribe_count, 0) FROM email_campaigns WHERE id = :c",
        campaign_id,
    )
    written = ("SENT", "DELIVERED", "OPENED", "CLICKED", "BOUNCED")
    sent = sum(1 for r in recipients if r.sent_at is not None or r.status in written)
    opens = [e for e in events if e.kind == "open"]

    def counts(machine: bool) -> dict[str, int]:
        mine_opens = [e for e in opens if e.is_machine is machine]
        mine_clicks = [c for c in clicks if c.is_machine is machine]
        return {
            "opened": len({e.recipient_id for e in mine_opens}),
            "clicked": len({c.recipient_id for c in mine_clicks}),
            "opens": len(mine_opens),
            "clicks": len(mine_clicks),
        }

    human, machine = counts(False), counts(True)
    delivered = sum(1 for r in recipients if r.delivered_at is not None or r.status == "DELIVERED")
    bounced = sum(1 for r in recipients if r.bounced_at is not None or r.status == "BOUNCED")
    complained = sum(1 for r in recipients if r.complained_at is not None)
    series: dict[datetime, dict[str, int]] = defaultdict(
        lambda: {"opens": 0, "clicks": 0, "machine_opens": 0, "machine_clicks": 0}
    )
    for event in events:
        hour = event.occurred_at.replace(minute=0, second=0, microsecond=0, tzinfo=UTC)
        series[hour][("machine_" if event.is_machine else "") + event.kind + "s"] += 1
    return {
        "campaign_id": campaign_id,
        "recipients": len(recipients),
        "sent": sent,
        "delivered": delivered,
        "failed": sum(1 for r in recipients if r.status == "FAILED"),
        "bounced": bounced,
        "unsubscribed": unsubscribed[0],
        "complained": complained,
        "human": human,
        "machine": machine,
        "rates": {
            "delivery": _rate(delivered, sent),
            "open": _rate(human["opened"], sent),
            "click": _rate(human["clicked"], sent),
            "click_to_open": _rate(human["clicked"], human["opened"]),
            "bounce": _rate(bounced, sent),
            "complaint": _rate(complained, sent),
            "unsubscribe": _rate(unsubscribed[0], sent),
        },
        "links": [
            {
                "link_index": link.link_index,
                "url": link.original_url,
                "clicks": sum(1 for c in clicks if c.link_id == link.id and not c.is_machine),
                "unique_clicks": len(
                    {c.recipient_id for c in clicks if c.link_id == link.id and not c.is_machine}
                ),
                "machine_clicks": sum(1 for c in clicks if c.link_id == link.id and c.is_machine),
            }
            for link in links
        ],
        "series": [{"hour": hour, **figures} for hour, figures in sorted(series.items())],
    }
