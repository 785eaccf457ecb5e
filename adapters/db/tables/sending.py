"""Sending infrastructure and its records: domains, providers, email logs and webhook events.

Spec tables 4, 5, 15, 16, and the outbox (migration 023; not in the spec).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
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
    Base,
    enum_check,
    integer_default,
    timestamp_now_column,
)

DOMAIN_STATUSES = ("PENDING", "VERIFIED", "FAILED", "SUSPENDED")
# The spec names only ACTIVE. ERROR: the last send failed (see last_error); DISABLED: taken out
# of rotation by its owner or by failover.
PROVIDER_STATUSES = ("ACTIVE", "ERROR", "DISABLED")
EMAIL_TYPES = ("CAMPAIGN", "TRANSACTIONAL", "CONFIRMATION")
EMAIL_LOG_STATUSES = ("QUEUED", "SENT", "DELIVERED", "BOUNCED", "FAILED")
RANDOM_HEX_64 = (
    "(replace((gen_random_uuid())::text, '-'::text, ''::text) || "
    "replace((gen_random_uuid())::text, '-'::text, ''::text))"
)
WEBHOOK_EVENT_TYPES = ("DELIVERED", "BOUNCED", "OPENED", "CLICKED", "COMPLAINED", "UNSUBSCRIBED")


def _optional_reference(target: str) -> Mapped[int | None]:
    return mapped_column(BigInteger, ForeignKey(target, ondelete="SET NULL"))


def _owner() -> Mapped[int]:
    return mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))


class Domain(Base):
    __tablename__ = "domains"
    __table_args__ = (
        enum_check("status", DOMAIN_STATUSES),
        UniqueConstraint("user_id", "domain_name", name="idx_domains_user_id_unique"),
        Index("idx_domains_user_id", "user_id"),
        Index("idx_domains_domain_name", "domain_name"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = _owner()
    domain_name: Mapped[str] = mapped_column(String(255), unique=True)
    status: Mapped[str] = mapped_column(String(50), server_default="PENDING", index=True)
    spf_record: Mapped[str | None] = mapped_column(Text)
    spf_verified: Mapped[bool | None] = mapped_column(Boolean, server_default=false())
    spf_last_checked_at: Mapped[datetime | None] = mapped_column(DateTime())
    dkim_selector: Mapped[str | None] = mapped_column(String(100), server_default="openmailer")
    dkim_public_key: Mapped[str | None] = mapped_column(Text)
    # AES-256 encrypted by adapters/crypto before it is stored.
    dkim_private_key: Mapped[str | None] = mapped_column(Text)
    dkim_verified: Mapped[bool | None] = mapped_column(Boolean, server_default=false())
    dkim_last_checked_at: Mapped[datetime | None] = mapped_column(DateTime())
    dmarc_record: Mapped[str | None] = mapped_column(Text)
    dmarc_verified: Mapped[bool | None] = mapped_column(Boolean, server_default=false())
    dmarc_last_checked_at: Mapped[datetime | None] = mapped_column(DateTime())
    verification_token: Mapped[str | None] = mapped_column(String(255), unique=True)
    verified_at: Mapped[datetime | None] = mapped_column(DateTime())
    created_at: Mapped[datetime] = timestamp_now_column()
    updated_at: Mapped[datetime] = timestamp_now_column()
    # Beyond the spec (migration 022): the ownership token's check, the Ed25519 key of dual
    # signing (selector `<dkim_selector>-ed25519`) and a rotation's pending key set. Private keys
    # are sealed like dkim_private_key.
    ownership_verified: Mapped[bool | None] = mapped_column(Boolean, server_default=false())
    ownership_last_checked_at: Mapped[datetime | None] = mapped_column(DateTime())
    dkim_ed25519_public_key: Mapped[str | None] = mapped_column(Text)
    dkim_ed25519_private_key: Mapped[str | None] = mapped_column(Text)
    dkim_pending_selector: Mapped[str | None] = mapped_column(String(100))
    dkim_pending_public_key: Mapped[str | None] = mapped_column(Text)
    dkim_pending_private_key: Mapped[str | None] = mapped_column(Text)
    dkim_pending_ed25519_public_key: Mapped[str | None] = mapped_column(Text)
    dkim_pending_ed25519_private_key: Mapped[str | None] = mapped_column(Text)


class EmailProvider(Base):
    __tablename__ = "email_providers"
    # No check on provider_type (migration 023 dropped the spec's AWS_SES/SENDGRID/SMTP): the
    # installed provider plugins decide which types exist, and the API validates against them.
    __table_args__ = (
        enum_check("status", PROVIDER_STATUSES),
        Index("idx_email_providers_user_id", "user_id"),
        Index("idx_email_providers_active", "is_active", "is_default"),
        # At most one default provider per user.
        Index(
            "idx_user_default_provider",
            "user_id",
            "is_default",
            unique=True,
            postgresql_where=text("is_default = TRUE"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = _owner()
    domain_id: Mapped[int | None] = _optional_reference("domains.id")
    provider_type: Mapped[str] = mapped_column(String(50))
    provider_name: Mapped[str] = mapped_column(String(255))
    # Encrypted JSON credentials (see the spec's "Configuration JSON Structure").
    configuration: Mapped[str] = mapped_column(Text)
    is_active: Mapped[bool | None] = mapped_column(Boolean, server_default=true())
    is_default: Mapped[bool | None] = mapped_column(Boolean, server_default=false())
    # Failover order: lower is tried first.
    priority: Mapped[int | None] = mapped_column(Integer, server_default=integer_default(0))
    daily_limit: Mapped[int | None] = mapped_column(Integer)
    monthly_limit: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str | None] = mapped_column(String(50), server_default="ACTIVE")
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(DateTime())
    created_at: Mapped[datetime] = timestamp_now_column()
    updated_at: Mapped[datetime] = timestamp_now_column()
    # Migration 032: the path segment of the provider's webhook URL (`/webhooks/<token>`),
    # 64 random hex digits (two gen_random_uuid, 244 random bits) from the column's default,
    # written as PostgreSQL shows it so that alembic's comparison matches the text instead of
    # evaluating two random values.
    webhook_token: Mapped[str] = mapped_column(
        String(64), unique=True, server_default=text(RANDOM_HEX_64)
    )


class EmailLog(Base):
    __tablename__ = "email_logs"
    __table_args__ = (
        enum_check("email_type", EMAIL_TYPES),
        enum_check("status", EMAIL_LOG_STATUSES),
        Index("idx_email_logs_campaign", "campaign_id"),
        Index("idx_email_logs_created", "created_at"),
        Index("idx_email_logs_provider_message", "provider_message_id"),
        # Migration 037: a deleted recipient's logs, found without a scan.
        Index(
            "idx_email_logs_recipient_id",
            "recipient_id",
            postgresql_where=text("recipient_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    campaign_id: Mapped[int | None] = _optional_reference("email_campaigns.id")
    recipient_id: Mapped[int | None] = _optional_reference("campaign_recipients.id")
    provider_id: Mapped[int | None] = _optional_reference("email_providers.id")
    email_type: Mapped[str] = mapped_column(String(50))
    recipient_email: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(50), index=True)
    provider_message_id: Mapped[str | None] = mapped_column(String(255))
    error_message: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime())
    created_at: Mapped[datetime] = timestamp_now_column()


class WebhookEvent(Base):
    __tablename__ = "webhook_events"
    __table_args__ = (
        enum_check("event_type", WEBHOOK_EVENT_TYPES),
        Index("idx_webhook_events_user", "user_id"),
        Index("idx_webhook_events_type", "event_type"),
        Index("idx_webhook_events_provider_event", "provider_event_id"),
        # Migration 032: each provider event stored once; the periodic retry's rows.
        Index("uq_webhook_events_provider_event", "provider_id", "provider_event_id", unique=True),
        Index("idx_webhook_events_pending", "id", postgresql_where=text("processed = false")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = _owner()
    provider_id: Mapped[int | None] = _optional_reference("email_providers.id")
    event_type: Mapped[str] = mapped_column(String(100))
    provider_event_id: Mapped[str | None] = mapped_column(String(255))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    processed: Mapped[bool | None] = mapped_column(Boolean, server_default=false(), index=True)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime())
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = timestamp_now_column()
    # Migration 032: failed processing attempts (the periodic retry stops at its bound).
    attempts: Mapped[int] = mapped_column(Integer, server_default=integer_default(0))


class OutboxMessageRow(Base):
    """A message kept instead of delivered (the OUTBOX provider), exactly as it would have left."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("idx_outbox_messages_user_id", "user_id", "id"),
        # Migration 037: a deleted campaign's messages, found without a scan.
        Index(
            "idx_outbox_messages_campaign_id",
            "campaign_id",
            postgresql_where=text("campaign_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = _owner()
    campaign_id: Mapped[int | None] = _optional_reference("email_campaigns.id")
    provider_id: Mapped[int | None] = _optional_reference("email_providers.id")
    recipient_email: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(500))
    message_id: Mapped[str] = mapped_column(String(255))
    raw_message: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = timestamp_now_column()
