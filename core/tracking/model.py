"""What a tracked open or click is, from the request that made it to the event handlers apply.

A `Hit` is what the public endpoint knows once the token verified: no database was read for it
(a click also had its recorded URL found). The worker resolves it into an `Event` (recipient,
campaign, link, whether a machine made it) and hands the new events of a batch to every
registered `TrackingHandler`, inside one transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


def naive_utc(moment: datetime) -> datetime:
    """The database's TIMESTAMP columns hold UTC without a zone."""
    return moment.astimezone(UTC).replace(tzinfo=None)


class EventKind(StrEnum):
    OPEN = "open"
    CLICK = "click"


@dataclass(frozen=True, slots=True)
class Hit:
    kind: EventKind
    tracking_id: str
    occurred_at: datetime
    link_index: int | None = None
    ip_address: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True, slots=True)
class BufferedHit:
    """A hit as the buffer delivered it: `event_id` is unique per hit and stable across
    deliveries of that hit, so applying it twice is recognised."""

    event_id: str
    hit: Hit


@dataclass(frozen=True, slots=True)
class Event:
    event_id: str
    kind: EventKind
    campaign_id: int
    recipient_id: int
    occurred_at: datetime
    link_id: int | None
    machine_reason: str | None
    ip_address: str | None
    user_agent: str | None

    @property
    def is_machine(self) -> bool:
        return self.machine_reason is not None


# `apply(transaction, events)`: the transaction is the adapters' database connection (hence
# Any here); `events` are the batch's events never applied before, in stream order.
ApplyEvents = Callable[[Any, Sequence[Event]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class TrackingHandler:
    """Registered with `register_tracking_handlers`; handlers run in ascending `order`
    (registration order among equals), all in the batch's one transaction."""

    apply: ApplyEvents
    description: str
    order: int = 100


@dataclass(frozen=True, slots=True)
class LinkClicks:
    link_id: int
    link_index: int
    url: str
    clicks: int
    unique_clicks: int
    machine_clicks: int


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    """Events in the hour starting at `bucket` (UTC)."""

    bucket: datetime
    opens: int
    clicks: int
    machine_opens: int
    machine_clicks: int


@dataclass(frozen=True, slots=True)
class CampaignStats:
    campaign_id: int
    recipients: int
    sent: int
    delivered: int
    failed: int
    bounced: int
    complained: int
    unsubscribed: int
    opened: int
    clicked: int
    machine_opened: int
    machine_clicked: int
    opens: int
    clicks: int
    machine_opens: int
    machine_clicks: int
    links: list[LinkClicks] = field(default_factory=list)
    series: list[SeriesPoint] = field(default_factory=list)

    def rate(self, count: int) -> float:
        """A percentage of the messages sent, two decimals (the campaign's rate columns')."""
        return round(100 * count / self.sent, 2) if self.sent else 0.0


class RecipientStatus(StrEnum):
    PENDING = "PENDING"
    SENDING = "SENDING"
    SENT = "SENT"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"
    BOUNCED = "BOUNCED"
    OPENED = "OPENED"
    CLICKED = "CLICKED"


@dataclass(frozen=True, slots=True)
class RecipientActivity:
    """One recipient of a campaign: what was sent and what they (or machines) did with it."""

    id: int
    contact_id: int
    email: str
    status: str
    sent_at: datetime | None
    delivered_at: datetime | None
    opened_at: datetime | None
    clicked_at: datetime | None
    bounced_at: datetime | None
    complained_at: datetime | None
    open_count: int
    click_count: int
    machine_open_count: int
    machine_click_count: int
    error_message: str | None
