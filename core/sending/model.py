"""Stored providers and outbox messages, as the sending area's use cases see them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class ProviderStatus(StrEnum):
    """The spec names only ACTIVE. ERROR: the last check or send failed (see last_error);
    DISABLED: taken out of rotation."""

    ACTIVE = "ACTIVE"
    ERROR = "ERROR"
    DISABLED = "DISABLED"


@dataclass(frozen=True, slots=True)
class Provider:
    id: int
    user_id: int
    provider_type: str
    provider_name: str
    sealed_configuration: str
    is_active: bool
    is_default: bool
    priority: int
    daily_limit: int | None
    monthly_limit: int | None
    status: str
    last_error: str | None
    last_error_at: datetime | None
    created_at: datetime
    updated_at: datetime
    domain_id: int | None = None
    # The path segment of its webhook URL (`POST /webhooks/<webhook_token>`).
    webhook_token: str = ""


@dataclass(frozen=True, slots=True)
class ProviderView:
    """A provider as its owner may see it: the settings that are not credentials, and for each
    credential only whether it is set."""

    provider: Provider
    settings: dict[str, Any]
    credentials: dict[str, bool]


@dataclass(frozen=True, slots=True)
class ProviderDraft:
    provider_type: str
    provider_name: str
    configuration: dict[str, Any]
    is_active: bool = True
    is_default: bool = False
    priority: int = 0
    daily_limit: int | None = None
    monthly_limit: int | None = None


@dataclass(frozen=True, slots=True)
class NewOutboxMessage:
    user_id: int
    recipient: str
    subject: str
    message_id: str
    raw: bytes
    campaign_id: int | None = None
    provider_id: int | None = None


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    id: int
    user_id: int
    recipient: str
    subject: str
    message_id: str
    campaign_id: int | None
    provider_id: int | None
    sent_at: datetime
    raw: bytes | None = None  # left out of list pages


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class BreakerAdmission:
    """Whether a send may go to the provider now; `probe`: it is the one trial of a half-open
    circuit, whose outcome closes or re-opens it."""

    allowed: bool
    probe: bool = False


class BreakerTransition(StrEnum):
    OPENED = "opened"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class LimitGrant:
    """Emails a provider's limits let through, and the counters (one per period) they were
    taken from, so that what was not sent goes back to the same periods."""

    provider_id: int
    granted: int
    counters: tuple[str, ...] = ()
