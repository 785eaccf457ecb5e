"""Provider events as the core sees them: what a stored webhook event says about one message to
one recipient, and the state of that message, its recipient, contact and campaign."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from openmailer.core.audience.model import ContactStatus

# Provider types whose events arrive at `POST /webhooks/<token>`.
SES_SOURCE = "SES"
SENDGRID_SOURCE = "SENDGRID"
EVENT_SOURCES = frozenset({SES_SOURCE, SENDGRID_SOURCE})


class EventKind(StrEnum):
    """The kinds stored (webhook_events.event_type); every other kind is acknowledged and
    ignored."""

    DELIVERED = "DELIVERED"
    BOUNCED = "BOUNCED"
    COMPLAINED = "COMPLAINED"
    UNSUBSCRIBED = "UNSUBSCRIBED"


class BounceKind(StrEnum):
    HARD = "HARD"
    SOFT = "SOFT"


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One webhook_events row to insert: `payload` is the provider's own event, verbatim."""

    kind: EventKind
    provider_event_id: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RecipientEvent:
    """What a stored event says of one recipient of one message. `message_id`: the id the
    provider gave the message when it took it (email_logs.provider_message_id)."""

    kind: EventKind
    message_id: str
    recipient: str
    occurred_at: datetime
    bounce: BounceKind | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class ContactState:
    id: int
    status: ContactStatus
    bounce_count: int
    last_bounce_at: datetime | None
    complaint_count: int


@dataclass(frozen=True, slots=True)
class CampaignState:
    id: int
    status: str
    sent_count: int
    bounce_count: int
    complaint_count: int
    unsubscribe_count: int


@dataclass(frozen=True, slots=True)
class MessageState:
    """The email_logs row an event names, with its campaign recipient (None for a
    transactional message) and the contact it went to (None when there is no such contact)."""

    log_id: int
    log_status: str
    recipient_id: int | None
    recipient_status: str | None
    recipient_bounced: bool
    recipient_complained: bool
    contact: ContactState | None
    campaign: CampaignState | None


@dataclass(frozen=True, slots=True)
class MessageKey:
    """What names a message's email log for an event: the user, the provider's message id and
    the recipient (lower-cased: addresses compare case-insensitively)."""

    user_id: int
    message_id: str
    recipient: str

    @classmethod
    def of(cls, user_id: int, message_id: str, recipient: str) -> MessageKey:
        return cls(user_id, message_id, recipient.lower())


@dataclass(slots=True)
class RowWrites:
    """A batch's writes: per table, each row's id and the final values of the columns it
    changes; `status_changed`: the contacts whose status changed (their lists' counts move)."""

    logs: dict[int, dict[str, Any]] = field(default_factory=dict)
    recipients: dict[int, dict[str, Any]] = field(default_factory=dict)
    contacts: dict[int, dict[str, Any]] = field(default_factory=dict)
    campaigns: dict[int, dict[str, Any]] = field(default_factory=dict)
    status_changed: set[int] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class Effects:
    """The writes one recipient event makes; each mapping names columns and their new values.
    `note` says why an event changed nothing (kept as the row's error_message)."""

    log: dict[str, Any]
    recipient: dict[str, Any]
    contact: dict[str, Any]
    campaign: dict[str, Any]
    contact_status_changed: bool = False
    note: str | None = None

    @property
    def empty(self) -> bool:
        return not (self.log or self.recipient or self.contact or self.campaign)


@dataclass(frozen=True, slots=True)
class WebhookSource:
    """The provider a webhook token names, with the settings its events are verified by."""

    provider_id: int
    user_id: int
    provider_type: str
    settings: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Receipt:
    """What a webhook request stored: new rows (duplicates are left out) and what it did."""

    stored: int
    duplicates: int
    ignored: int
    confirmed_subscription: bool = False
