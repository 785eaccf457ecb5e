"""Templates, campaigns (live and archived) and their recipients, links and clicks.

Spec tables 2, 3, 10, 11, 12, plus `email_campaigns_archive` (the 17th table; migration 020),
`tracking_keys` (migration 030), `tracking_events` (migration 033) and `campaign_click_daily`
(migration 037).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from openmailer.adapters.db.base import (
    CURRENT_TIMESTAMP,
    Base,
    enum_check,
    integer_default,
    timestamp_now_column,
)

TEMPLATE_TYPES = ("CUSTOM", "NEWSLETTER", "PROMOTIONAL", "TRANSACTIONAL", "WELCOME")
CAMPAIGN_STATUSES = ("DRAFT", "SCHEDULED", "SENDING", "SENT", "PAUSED", "CANCELLED", "FAILED")
RECIPIENT_STATUSES = (
    "PENDING",
    "SENDING",
    "SENT",
    "DELIVERED",
    "FAILED",
    "BOUNCED",
    "OPENED",
    "CLICKED",
)


def _percentage() -> Mapped[Decimal | None]:
    return mapped_column(Numeric(5, 2), server_default=integer_default(0))


def _counter(default: int = 0) -> Mapped[int | None]:
    return mapped_column(Integer, server_default=integer_default(default))


class EmailTemplate(Base):
    __tablename__ = "email_templates"
    __table_args__ = (
        enum_check("template_type", TEMPLATE_TYPES),
        # Unique per user, not globally as the spec has it (migration 028).
        UniqueConstraint("created_by", "name", name="uq_email_templates_created_by_name"),
        Index("idx_email_templates_name", "name"),
        Index("idx_email_templates_type", "template_type"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = timestamp_now_column()
    updated_at: Mapped[datetime] = timestamp_now_column()
    template_type: Mapped[str | None] = mapped_column(String(50), server_default="CUSTOM")
    is_html: Mapped[bool | None] = mapped_column(Boolean, server_default=true())
    version: Mapped[int | None] = _counter(1)
    is_active: Mapped[bool | None] = mapped_column(Boolean, server_default=true())
    preview_text: Mapped[str | None] = mapped_column(String(255))


class EmailTemplateVersion(Base):
    """One immutable version of a template's content (migration 028; not in the spec)."""

    __tablename__ = "email_template_versions"
    __table_args__ = (
        UniqueConstraint(
            "template_id", "version", name="uq_email_template_versions_template_version"
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    template_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("email_templates.id", ondelete="CASCADE")
    )
    version: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(String(500))
    html: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str | None] = mapped_column(Text)
    preview_text: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = timestamp_now_column()
    created_by: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )


class CampaignColumns:
    """The columns email_campaigns and email_campaigns_archive share, minus ids and references."""

    name: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(50), server_default="DRAFT")
    scheduled_at: Mapped[datetime | None] = mapped_column(DateTime())
    sent_at: Mapped[datetime | None] = mapped_column(DateTime())
    total_recipients: Mapped[int | None] = _counter()
    sent_count: Mapped[int | None] = _counter()
    failed_count: Mapped[int | None] = _counter()
    created_at: Mapped[datetime] = timestamp_now_column()
    updated_at: Mapped[datetime] = timestamp_now_column()
    from_name: Mapped[str | None] = mapped_column(String(255))
    from_email: Mapped[str | None] = mapped_column(String(255))
    reply_to_email: Mapped[str | None] = mapped_column(String(255))
    subject_line: Mapped[str | None] = mapped_column(String(500))
    preview_text: Mapped[str | None] = mapped_column(String(255))
    track_opens: Mapped[bool | None] = mapped_column(Boolean, server_default=true())
    track_clicks: Mapped[bool | None] = mapped_column(Boolean, server_default=true())
    open_rate: Mapped[Decimal | None] = _percentage()
    click_rate: Mapped[Decimal | None] = _percentage()
    bounce_rate: Mapped[Decimal | None] = _percentage()
    unsubscribe_count: Mapped[int | None] = _counter()
    complaint_count: Mapped[int | None] = _counter()
    send_speed: Mapped[int | None] = _counter(100)
    retry_failed: Mapped[bool | None] = mapped_column(Boolean, server_default=true())
    max_retries: Mapped[int | None] = _counter(3)
    # Migration 029: the template version the campaign sends, recorded at start.
    template_version: Mapped[int | None] = mapped_column(Integer)
    # Migration 032: bounced recipients (bounce_rate's numerator) and why the campaign paused
    # itself (complaint-rate protection, core/events/policy.py).
    bounce_count: Mapped[int | None] = _counter()
    pause_reason: Mapped[str | None] = mapped_column(Text)


def _optional_reference(target: str) -> Mapped[int | None]:
    # A campaign outlives the domain, provider, list or segment it was sent with.
    return mapped_column(BigInteger, ForeignKey(target, ondelete="SET NULL"))


class EmailCampaign(CampaignColumns, Base):
    __tablename__ = "email_campaigns"
    __table_args__ = (
        enum_check("status", CAMPAIGN_STATUSES),
        Index("idx_email_campaigns_status", "status"),
        Index("idx_email_campaigns_scheduled_at", "scheduled_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # RESTRICT: a template still used by a live campaign cannot be deleted; archived campaigns
    # keep only the id.
    template_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("email_templates.id", ondelete="RESTRICT")
    )
    created_by: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    domain_id: Mapped[int | None] = _optional_reference("domains.id")
    provider_id: Mapped[int | None] = _optional_reference("email_providers.id")
    list_id: Mapped[int | None] = _optional_reference("contact_lists.id")
    segment_id: Mapped[int | None] = _optional_reference("segments.id")
    # Migration 035: created or started with an om_test_ key, so it sends to the outbox only.
    outbox_only: Mapped[bool] = mapped_column(Boolean, server_default=false())


class EmailCampaignArchive(CampaignColumns, Base):
    """Campaigns older than two years, moved here by the monthly retention job.

    The ids are plain BIGINTs without foreign keys, so archived rows never block deleting the
    users, templates, domains, providers, lists or segments they once referenced.
    """

    __tablename__ = "email_campaigns_archive"
    __table_args__ = (enum_check("status", CAMPAIGN_STATUSES),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    template_id: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[int] = mapped_column(BigInteger, index=True)
    domain_id: Mapped[int | None] = mapped_column(BigInteger)
    provider_id: Mapped[int | None] = mapped_column(BigInteger)
    list_id: Mapped[int | None] = mapped_column(BigInteger)
    segment_id: Mapped[int | None] = mapped_column(BigInteger)
    archived_at: Mapped[datetime] = mapped_column(
        DateTime(), nullable=False, server_default=CURRENT_TIMESTAMP
    )
    # Migration 037: the statistics answer as it read when archived (the detail rows are gone).
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class CampaignRecipient(Base):
    __tablename__ = "campaign_recipients"
    __table_args__ = (
        enum_check("status", RECIPIENT_STATUSES),
        UniqueConstraint("campaign_id", "contact_id", name="unique_campaign_contact"),
        Index("idx_campaign_recipients_campaign", "campaign_id"),
        Index("idx_campaign_recipients_contact", "contact_id"),
        Index("idx_campaign_recipients_tracking", "tracking_id"),
        # Migration 035: the rows still to send, read by the claim, completion and reconciler
        # (`status IN ('PENDING', 'SENDING')` in PostgreSQL's own spelling, as the catalog has it).
        Index(
            "idx_campaign_recipients_unsent",
            "campaign_id",
            "id",
            postgresql_where=text(
                "(status)::text = ANY ((ARRAY['PENDING'::character varying, "
                "'SENDING'::character varying])::text[])"
            ),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("email_campaigns.id", ondelete="CASCADE")
    )
    contact_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("contacts.id", ondelete="CASCADE")
    )
    status: Mapped[str | None] = mapped_column(String(50), server_default="PENDING", index=True)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime())
    opened_at: Mapped[datetime | None] = mapped_column(DateTime())
    clicked_at: Mapped[datetime | None] = mapped_column(DateTime())
    bounced_at: Mapped[datetime | None] = mapped_column(DateTime())
    complained_at: Mapped[datetime | None] = mapped_column(DateTime())
    open_count: Mapped[int | None] = _counter()
    click_count: Mapped[int | None] = _counter()
    # Migration 033: opens and clicks of mail-privacy proxies and link scanners (the spec's
    # counts and timestamps above count people only).
    machine_open_count: Mapped[int | None] = _counter()
    machine_click_count: Mapped[int | None] = _counter()
    error_message: Mapped[str | None] = mapped_column(Text)
    retry_count: Mapped[int | None] = _counter()
    tracking_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = timestamp_now_column()
    updated_at: Mapped[datetime] = timestamp_now_column()
    # Migration 035 (see it for why each exists): the claim's lease, the backoff, a reclaimed
    # lease's possible duplicate, and why a FAILED row failed.
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime())
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime())
    possible_duplicate: Mapped[bool] = mapped_column(Boolean, server_default=false())
    failure: Mapped[str | None] = mapped_column(String(20))


class CampaignLink(Base):
    __tablename__ = "campaign_links"
    __table_args__ = (
        Index("idx_campaign_links_campaign", "campaign_id"),
        Index("idx_campaign_links_short_code", "short_code"),
        # Not in the spec (migration 030): the click token names (campaign, link index).
        Index("idx_campaign_links_campaign_index", "campaign_id", "link_index", unique=True),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("email_campaigns.id", ondelete="CASCADE")
    )
    original_url: Mapped[str] = mapped_column(Text)
    link_index: Mapped[int] = mapped_column(Integer)
    short_code: Mapped[str] = mapped_column(String(20), unique=True)
    click_count: Mapped[int | None] = _counter()
    unique_click_count: Mapped[int | None] = _counter()
    created_at: Mapped[datetime] = timestamp_now_column()


class TrackingKey(Base):
    """Not in the spec (migration 030): the installation's key for the tokens in campaign mail,
    sealed like every secret at rest (see the migration for why it is not derived from those)."""

    __tablename__ = "tracking_keys"
    __table_args__ = (CheckConstraint("id = 1", name="id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    sealed_key: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = timestamp_now_column()


class CampaignClick(Base):
    __tablename__ = "campaign_clicks"
    __table_args__ = (
        Index("idx_campaign_clicks_campaign", "campaign_id"),
        Index("idx_campaign_clicks_recipient", "recipient_id"),
        Index("idx_campaign_clicks_link", "link_id"),
        Index("idx_campaign_clicks_timestamp", "clicked_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("email_campaigns.id", ondelete="CASCADE")
    )
    recipient_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("campaign_recipients.id", ondelete="CASCADE")
    )
    link_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("campaign_links.id", ondelete="CASCADE")
    )
    clicked_at: Mapped[datetime] = timestamp_now_column()
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(Text)
    # Migration 033: a link scanner's click, kept out of the human click rate.
    is_machine: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())


class TrackingEvent(Base):
    """Not in the spec (migration 033): every applied open and click, keyed by its stream entry
    id, so a batch delivered twice counts once; the opens' log and the time series' source."""

    __tablename__ = "tracking_events"
    __table_args__ = (
        CheckConstraint("kind IN ('open', 'click')", name="kind"),
        Index("idx_tracking_events_campaign_time", "campaign_id", "occurred_at"),
        Index("idx_tracking_events_recipient", "recipient_id"),
        # Migration 037: a deleted link's events, found without a scan.
        Index(
            "idx_tracking_events_link_id",
            "link_id",
            postgresql_where=text("link_id IS NOT NULL"),
        ),
    )

    event_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    campaign_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("email_campaigns.id", ondelete="CASCADE")
    )
    recipient_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("campaign_recipients.id", ondelete="CASCADE")
    )
    link_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("campaign_links.id", ondelete="CASCADE")
    )
    occurred_at: Mapped[datetime] = mapped_column(DateTime())
    is_machine: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
    machine_reason: Mapped[str | None] = mapped_column(String(50))
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(Text)


class CampaignClickDaily(Base):
    """Not in the spec (migration 037): the aggregated `campaign_clicks` rows, per link and UTC
    day (people's clicks and scanners' apart), once older than their owner's click-log choice."""

    __tablename__ = "campaign_click_daily"
    __table_args__ = (Index("idx_campaign_click_daily_link", "link_id"),)

    campaign_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("email_campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    link_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("campaign_links.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date(), primary_key=True)
    clicks: Mapped[int] = mapped_column(Integer, nullable=False, server_default=integer_default(0))
    machine_clicks: Mapped[int] = mapped_column(
        Integer, nullable=False, server_default=integer_default(0)
    )
