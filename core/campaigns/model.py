"""Campaign values the use cases return and the repositories store, and the rules their inputs
obey (header inputs use the messages area's checks: one rule for every header a user writes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from openmailer.core.campaigns.lifecycle import CampaignStatus
from openmailer.core.errors import ValidationError
from openmailer.core.messages.model import (
    MAX_ADDRESS_CHARS,
    MAX_NAME_CHARS,
    MAX_SUBJECT_CHARS,
    check_header_value,
    looks_like_address,
)
from openmailer.core.segments.conditions import Group

MAX_NAME_LENGTH = 255
MAX_PREVIEW_TEXT_CHARS = 255
# Messages per second across all workers; above this the Redis token bucket and one PostgreSQL
# could not keep up anyway, and a typo (100000) should be an error, not a burst.
MAX_SEND_SPEED = 10_000
DEFAULT_SEND_SPEED = 100
MAX_RETRIES = 10
DEFAULT_MAX_RETRIES = 3
# How far ahead a campaign may be scheduled.
MAX_SCHEDULE_AHEAD_DAYS = 366


@dataclass(frozen=True, slots=True)
class CampaignSettings:
    """What a user writes about a campaign (create: all of it; the rest is the platform's)."""

    name: str
    template_id: int
    list_id: int | None = None
    segment_id: int | None = None
    from_email: str | None = None
    from_name: str | None = None
    reply_to_email: str | None = None
    domain_id: int | None = None
    provider_id: int | None = None
    subject_line: str | None = None
    preview_text: str | None = None
    track_opens: bool = True
    track_clicks: bool = True
    send_speed: int = DEFAULT_SEND_SPEED
    retry_failed: bool = True
    max_retries: int = DEFAULT_MAX_RETRIES


# Settings a PATCH may set to null (the others are required or have a default).
NULLABLE_SETTINGS = frozenset(
    {
        "list_id",
        "segment_id",
        "from_name",
        "reply_to_email",
        "domain_id",
        "provider_id",
        "subject_line",
        "preview_text",
    }
)


@dataclass(frozen=True, slots=True)
class Campaign:
    id: int
    user_id: int
    status: CampaignStatus
    settings: CampaignSettings
    scheduled_at: datetime | None
    sent_at: datetime | None
    total_recipients: int
    sent_count: int
    failed_count: int
    template_version: int | None
    created_at: datetime
    updated_at: datetime
    stats: CampaignStats = field(default_factory=lambda: CampaignStats())
    # Created or started with an om_test_ key: it sends to the outbox only (the worker that
    # sends it has no caller to ask).
    outbox_only: bool = False
    # Moved to the archive by the retention job (adapters/db/campaign_archive.py): read-only,
    # its detail rows removed, its statistics kept.
    archived_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CampaignStats:
    """Rates are percentages (0-100), kept by the tracking handlers."""

    open_rate: float = 0.0
    click_rate: float = 0.0
    bounce_rate: float = 0.0
    unsubscribe_count: int = 0
    complaint_count: int = 0
    # Provider events (core/events/policy.py): bounced recipients, and why the campaign paused
    # itself (complaint-rate protection; None when it did not).
    bounce_count: int = 0
    pause_reason: str | None = None


@dataclass(frozen=True, slots=True)
class TemplateSnapshot:
    """What a campaign needs of its template (read through the campaigns area's own port)."""

    id: int
    version: int
    is_active: bool
    subject: str
    body: str
    is_html: bool
    preview_text: str | None


@dataclass(frozen=True, slots=True)
class AudienceSource:
    """Who a campaign reaches: one list's active members and/or one segment's matches (the
    segment's conditions parsed, and the list it is limited to, if any)."""

    list_id: int | None
    segment: Group | None
    segment_list_id: int | None


@dataclass(frozen=True, slots=True)
class AudienceBreakdown:
    """`candidates`: distinct contacts in the list or segment; `duplicates`: counted in both
    (one row each); of the candidates, those excluded by status or erasure; `recipients`: the
    rest, exactly what materialisation inserts."""

    list_members: int = 0
    segment_matches: int = 0
    duplicates: int = 0
    candidates: int = 0
    unsubscribed: int = 0
    bounced: int = 0
    complained: int = 0
    pending: int = 0
    erased: int = 0
    recipients: int = 0


@dataclass(frozen=True, slots=True)
class Problem:
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class DomainReadiness:
    id: int
    name: str
    status: str
    spf_verified: bool
    dkim_verified: bool
    dmarc_verified: bool


@dataclass(frozen=True, slots=True)
class ProviderLimits:
    id: int
    name: str
    provider_type: str
    daily_limit: int | None
    monthly_limit: int | None


@dataclass(frozen=True, slots=True)
class Preflight:
    audience: AudienceBreakdown
    domain: DomainReadiness | None
    outbox_only: bool
    one_click_unsubscribe_signed: bool
    send_speed: int
    estimated_duration_seconds: int
    providers: list[ProviderLimits]
    monthly_limit: int
    monthly_sent: int
    monthly_headroom: int
    template_version: int | None
    blocking: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def _bounded(value: int, low: int, high: int, name: str) -> None:
    if not low <= value <= high:
        raise ValidationError(f"{name} is {low} to {high}", field=name)


def check_settings(settings: CampaignSettings) -> None:
    """The rules a stored campaign obeys, whatever wrote it (create or a merged PATCH)."""
    if not 1 <= len(settings.name.strip()) <= MAX_NAME_LENGTH:
        raise ValidationError(f"a name has 1 to {MAX_NAME_LENGTH} characters", field="name")
    if settings.list_id is None and settings.segment_id is None:
        raise ValidationError(
            "give the audience: list_id, segment_id or both", field="list_id", code="no_audience"
        )
    if settings.from_email is None:
        raise ValidationError("from_email is required", field="from_email")
    check_header_value(settings.from_email, field_name="from_email", max_chars=MAX_ADDRESS_CHARS)
    check_header_value(settings.from_name, field_name="from_name", max_chars=MAX_NAME_CHARS)
    check_header_value(
        settings.reply_to_email, field_name="reply_to_email", max_chars=MAX_ADDRESS_CHARS
    )
    check_header_value(
        settings.subject_line, field_name="subject_line", max_chars=MAX_SUBJECT_CHARS
    )
    check_header_value(
        settings.preview_text, field_name="preview_text", max_chars=MAX_PREVIEW_TEXT_CHARS
    )
    if settings.subject_line is not None and not settings.subject_line.strip():
        raise ValidationError("subject_line must not be blank", field="subject_line")
    for name, address in (
        ("from_email", settings.from_email),
        ("reply_to_email", settings.reply_to_email),
    ):
        if address is not None and not looks_like_address(address):
            raise ValidationError(f"{name} is not an email address", field=name)
    _bounded(settings.send_speed, 1, MAX_SEND_SPEED, "send_speed")
    _bounded(settings.max_retries, 0, MAX_RETRIES, "max_retries")


def settings_changes(values: dict[str, Any]) -> dict[str, Any]:
    """Refuses a null for a setting that cannot be empty (name, template_id, from_email...)."""
    for name, value in values.items():
        if name not in CampaignSettings.__dataclass_fields__:
            raise ValidationError(f"{name} is not a campaign setting", field=name)
        if value is None and name not in NULLABLE_SETTINGS:
            raise ValidationError(f"{name} cannot be null", field=name)
    return values
