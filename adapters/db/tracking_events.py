"""Applying buffered hits: resolved against the recipients and links, deduplicated by their
stream entry id in `tracking_events`, handed to the registered handlers; one transaction.

A transaction-scoped advisory lock makes concurrent drains apply one batch at a time: the
handlers then never deadlock on each other's counters, and "is this the recipient's first open"
is decided against every batch committed before. (One batch of 500 takes milliseconds; a
single applier keeps up with far more hits than one API process can take.)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC

from sqlalchemy import Table, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openmailer.adapters.db.tables import CampaignLink, CampaignRecipient, TrackingEvent
from openmailer.core.tracking.machines import machine_reason
from openmailer.core.tracking.model import (
    BufferedHit,
    Event,
    EventKind,
    TrackingHandler,
    naive_utc,
)

RECIPIENTS: Table = CampaignRecipient.__table__  # type: ignore[assignment]
LINKS: Table = CampaignLink.__table__  # type: ignore[assignment]
EVENTS: Table = TrackingEvent.__table__  # type: ignore[assignment]
# pg_advisory_xact_lock key of the appliers ("tracking" in ASCII, as a bigint).
APPLIER_LOCK = 0x747261636B696E67


class SqlAlchemyEventStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def apply(self, hits: Sequence[BufferedHit], handlers: Sequence[TrackingHandler]) -> int:
        async with self._engine.begin() as conn:
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPLIER_LOCK})
            events = await resolve(conn, hits)
            new = await record_new(conn, events)
            for handler in handlers:
                await handler.apply(conn, new)
        return len(new)


async def resolve(conn: AsyncConnection, hits: Sequence[BufferedHit]) -> list[Event]:
    """Hits of recipients (or links) that no longer exist (an erased contact, a deleted
    campaign) resolve to nothing and are dropped."""
    tracking_ids = sorted({entry.hit.tracking_id for entry in hits})
    rows = await conn.execute(
        select(
            RECIPIENTS.c.tracking_id,
            RECIPIENTS.c.id,
            RECIPIENTS.c.campaign_id,
            RECIPIENTS.c.sent_at,
        ).where(RECIPIENTS.c.tracking_id.in_(tracking_ids))
    )
    recipients = {row.tracking_id: row for row in rows}
    campaign_ids = sorted({row.campaign_id for row in recipients.values()})
    indexes = sorted({entry.hit.link_index for entry in hits if entry.hit.link_index is not None})
    links: dict[tuple[int, int], int] = {}
    if indexes and campaign_ids:
        link_rows = await conn.execute(
            select(LINKS.c.id, LINKS.c.campaign_id, LINKS.c.link_index).where(
                LINKS.c.campaign_id.in_(campaign_ids), LINKS.c.link_index.in_(indexes)
            )
        )
        links = {(row.campaign_id, row.link_index): row.id for row in link_rows}
    events = []
    for entry in hits:
        hit = entry.hit
        recipient = recipients.get(hit.tracking_id)
        if recipient is None:
            continue
        link_id = None
        if hit.kind is EventKind.CLICK:
            link_id = links.get((recipient.campaign_id, hit.link_index or 0))
            if hit.link_index is None or link_id is None:
                continue
        sent_at = None if recipient.sent_at is None else recipient.sent_at.replace(tzinfo=UTC)
        events.append(
            Event(
                event_id=entry.event_id,
                kind=hit.kind,
                campaign_id=recipient.campaign_id,
                recipient_id=recipient.id,
                occurred_at=hit.occurred_at,
                link_id=link_id,
                machine_reason=machine_reason(
                    user_agent=hit.user_agent,
                    ip_address=hit.ip_address,
                    occurred_at=hit.occurred_at,
                    sent_at=sent_at,
                ),
                ip_address=hit.ip_address,
                user_agent=hit.user_agent,
            )
        )
    return events


async def record_new(conn: AsyncConnection, events: Sequence[Event]) -> list[Event]:
    """Insert the events' rows; those already there (a batch delivered again) are left out."""
    if not events:
        return []
    inserted = await conn.execute(
        pg_insert(EVENTS)
        .values(
            [
                {
                    "event_id": event.event_id,
                    "kind": event.kind.value,
                    "campaign_id": event.campaign_id,
                    "recipient_id": event.recipient_id,
                    "link_id": event.link_id,
                    "occurred_at": naive_utc(event.occurred_at),
                    "is_machine": event.is_machine,
                    "machine_reason": event.machine_reason,
                    "ip_address": event.ip_address,
                    "user_agent": event.user_agent,
                }
                for event in events
            ]
        )
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(EVENTS.c.event_id)
    )
    new_ids = set(inserted.scalars())
    return [event for event in events if event.event_id in new_ids]
