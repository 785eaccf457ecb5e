"""The live catalog after `upgrade head` matches the spec (/work/shared/spec/DATABASE_SCHEMA.md).

The expected schema below is written by hand from the spec, in PostgreSQL's own spelling
(`format_type`, `pg_get_expr`), plus the decisions the spec leaves open (documented in the
migrations): ON DELETE actions of the three pre-existing tables and of the campaign references,
the enum checks, idx_users_account_status, idx_users_username_lower (usernames unique in any
case), idx_segments_conditions, email_campaigns_archive, outbox_messages (023), and
idempotency_keys (026), the CSV imports' tables (027, keyed by their job, not an id),
email_template_versions and per-user template names (028), email_campaigns.template_version (029),
tracking_keys and campaign_links.link_index (030), idempotency_keys.email_log_ids (031),
provider webhooks (032: webhook_token, deduplicated and retried webhook_events, the campaigns'
bounce_count and pause_reason), tracking_events and the machine counts (033),
contact_lists.public_id and form_fields (034), the send path's leases, backoff, possible
duplicates, failure kinds and outbox-only campaigns (035), user_retention_settings and
retention_runs (036), campaign_click_daily, email_campaigns_archive.summary and the indexes
of three references (037), users.monthly_emails_month (038).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import asyncpg
import pytest

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Col:
    type: str
    nullable: bool = True
    default: str | None = None


@dataclass(frozen=True)
class Idx:
    columns: tuple[str, ...]
    method: str = "btree"
    unique: bool = False
    predicate: str | None = None


@dataclass(frozen=True)
class Check:
    values: frozenset[str]
    subset: bool = False  # `column <@ ARRAY[...]` rather than `column IN (...)`


@dataclass(frozen=True)
class Table:
    columns: dict[str, Col]
    foreign_keys: dict[str, tuple[str, str]] = field(default_factory=dict)  # col: (table, action)
    uniques: dict[str, tuple[str, ...]] = field(default_factory=dict)
    checks: dict[str, Check] = field(default_factory=dict)  # column: allowed values
    indexes: dict[str, Idx] = field(default_factory=dict)
    serial_id: bool = True
    primary_key: tuple[str, ...] = ("id",)  # a table keyed otherwise has no id column


def varchar(length: int, *, nullable: bool = True, default: str | None = None) -> Col:
    literal = None if default is None else f"'{default}'::character varying"
    return Col(f"character varying({length})", nullable, literal)


def integer(default: int | None = None, *, nullable: bool = True) -> Col:
    return Col("integer", nullable, None if default is None else str(default))


def boolean(default: bool | None = None, *, nullable: bool = True) -> Col:
    return Col("boolean", nullable, None if default is None else str(default).lower())


def one_of(*values: str) -> Check:
    return Check(frozenset(values))


RANDOM_HEX_64 = (
    "(replace((gen_random_uuid())::text, '-'::text, ''::text) || "
    "replace((gen_random_uuid())::text, '-'::text, ''::text))"
)
BIGINT = Col("bigint")
BIGINT_NOT_NULL = Col("bigint", nullable=False)
TEXT = Col("text")
TEXT_NOT_NULL = Col("text", nullable=False)
TEXT_ARRAY = Col("text[]")
JSONB = Col("jsonb")
JSONB_NOT_NULL = Col("jsonb", nullable=False)
TIMESTAMP = Col("timestamp without time zone")
TIMESTAMP_NOT_NULL = Col("timestamp without time zone", nullable=False)
TIMESTAMP_NOW = Col("timestamp without time zone", nullable=False, default="CURRENT_TIMESTAMP")
PERCENTAGE = Col("numeric(5,2)", default="0")
CAMPAIGN_STATUS = one_of("DRAFT", "SCHEDULED", "SENDING", "SENT", "PAUSED", "CANCELLED", "FAILED")

CAMPAIGN_COLUMNS = {
    "name": varchar(255, nullable=False),
    "template_id": BIGINT_NOT_NULL,
    "status": varchar(50, nullable=False, default="DRAFT"),
    "scheduled_at": TIMESTAMP,
    "sent_at": TIMESTAMP,
    "total_recipients": integer(0),
    "sent_count": integer(0),
    "failed_count": integer(0),
    "created_by": BIGINT_NOT_NULL,
    "created_at": TIMESTAMP_NOW,
    "updated_at": TIMESTAMP_NOW,
    "from_name": varchar(255),
    "from_email": varchar(255),
    "reply_to_email": varchar(255),
    "domain_id": BIGINT,
    "provider_id": BIGINT,
    "list_id": BIGINT,
    "segment_id": BIGINT,
    "subject_line": varchar(500),
    "preview_text": varchar(255),
    "track_opens": boolean(True),
    "track_clicks": boolean(True),
    "open_rate": PERCENTAGE,
    "click_rate": PERCENTAGE,
    "bounce_rate": PERCENTAGE,
    "unsubscribe_count": integer(0),
    "complaint_count": integer(0),
    "send_speed": integer(100),
    "retry_failed": boolean(True),
    "max_retries": integer(3),
    # Not in the spec (migration 029): the template version a campaign sends.
    "template_version": integer(),
    "bounce_count": integer(0),
    "pause_reason": TEXT,
}

EXPECTED: dict[str, Table] = {
    "users": Table(
        columns={
            "username": varchar(255, nullable=False),
            "email": varchar(255, nullable=False),
            "password": varchar(255, nullable=False),
            "enabled": boolean(True, nullable=False),
            "created_at": TIMESTAMP_NOW,
            "updated_at": TIMESTAMP_NOW,
            "role": varchar(50, nullable=False, default="USER"),
            "account_status": varchar(50, nullable=False, default="ACTIVE"),
            "subscription_plan": varchar(50, default="FREE"),
            "subscription_expires_at": TIMESTAMP,
            "api_enabled": boolean(True),
            "monthly_email_limit": integer(1000),
            "monthly_emails_sent": integer(0),
            "last_login_at": TIMESTAMP,
            "last_login_ip": varchar(45),
            "failed_login_attempts": integer(0),
            "account_locked_until": TIMESTAMP,
            "two_factor_enabled": boolean(False),
            "two_factor_secret": varchar(255),
            # Not in the spec (migration 038): the month monthly_emails_sent counts for.
            "monthly_emails_month": Col("date"),
        },
        uniques={"users_username_key": ("username",), "users_email_key": ("email",)},
        checks={
            "role": one_of("USER", "ADMIN"),
            "account_status": one_of("ACTIVE", "SUSPENDED", "TRIAL", "EXPIRED"),
            "subscription_plan": one_of("FREE", "BASIC", "PRO", "ENTERPRISE"),
        },
        indexes={
            "idx_users_username": Idx(("username",)),
            "idx_users_email": Idx(("email",)),
            "idx_users_role": Idx(("role",)),
            "idx_users_account_status": Idx(("account_status",)),
            "idx_users_username_lower": Idx(("lower(username::text)",), unique=True),
        },
    ),
    "email_templates": Table(
        columns={
            "name": varchar(255, nullable=False),
            "subject": varchar(500, nullable=False),
            "body": TEXT_NOT_NULL,
            "description": TEXT,
            "created_by": BIGINT_NOT_NULL,
            "created_at": TIMESTAMP_NOW,
            "updated_at": TIMESTAMP_NOW,
            "template_type": varchar(50, default="CUSTOM"),
            "is_html": boolean(True),
            "version": integer(1),
            "is_active": boolean(True),
            "preview_text": varchar(255),
        },
        foreign_keys={"created_by": ("users", "CASCADE")},
        # Unique per user, not globally as the spec's UNIQUE (migration 028).
        uniques={"uq_email_templates_created_by_name": ("created_by", "name")},
        checks={
            "template_type": one_of(
                "CUSTOM", "NEWSLETTER", "PROMOTIONAL", "TRANSACTIONAL", "WELCOME"
            ),
        },
        indexes={
            "idx_email_templates_name": Idx(("name",)),
            "idx_email_templates_created_by": Idx(("created_by",)),
            "idx_email_templates_type": Idx(("template_type",)),
        },
    ),
    "email_campaigns": Table(
        # Not in the spec (migration 035): created or started with an om_test_ key.
        columns={**CAMPAIGN_COLUMNS, "outbox_only": boolean(False, nullable=False)},
        foreign_keys={
            "template_id": ("email_templates", "RESTRICT"),
            "created_by": ("users", "CASCADE"),
            "domain_id": ("domains", "SET NULL"),
            "provider_id": ("email_providers", "SET NULL"),
            "list_id": ("contact_lists", "SET NULL"),
            "segment_id": ("segments", "SET NULL"),
        },
        checks={"status": CAMPAIGN_STATUS},
        indexes={
            "idx_email_campaigns_status": Idx(("status",)),
            "idx_email_campaigns_created_by": Idx(("created_by",)),
            "idx_email_campaigns_scheduled_at": Idx(("scheduled_at",)),
        },
    ),
    "domains": Table(
        columns={
            "user_id": BIGINT_NOT_NULL,
            "domain_name": varchar(255, nullable=False),
            "status": varchar(50, nullable=False, default="PENDING"),
            "spf_record": TEXT,
            "spf_verified": boolean(False),
            "spf_last_checked_at": TIMESTAMP,
            "dkim_selector": varchar(100, default="openmailer"),
            "dkim_public_key": TEXT,
            "dkim_private_key": TEXT,
            "dkim_verified": boolean(False),
            "dkim_last_checked_at": TIMESTAMP,
            "dmarc_record": TEXT,
            "dmarc_verified": boolean(False),
            "dmarc_last_checked_at": TIMESTAMP,
            "verification_token": varchar(255),
            "verified_at": TIMESTAMP,
            "created_at": TIMESTAMP_NOW,
            "updated_at": TIMESTAMP_NOW,
            # beyond the spec, migration 022: dual signing, rotation, the ownership check
            "ownership_verified": boolean(False),
            "ownership_last_checked_at": TIMESTAMP,
            "dkim_ed25519_public_key": TEXT,
            "dkim_ed25519_private_key": TEXT,
            "dkim_pending_selector": varchar(100),
            "dkim_pending_public_key": TEXT,
            "dkim_pending_private_key": TEXT,
            "dkim_pending_ed25519_public_key": TEXT,
            "dkim_pending_ed25519_private_key": TEXT,
        },
        foreign_keys={"user_id": ("users", "CASCADE")},
        uniques={
            "domains_domain_name_key": ("domain_name",),
            "domains_verification_token_key": ("verification_token",),
            "idx_domains_user_id_unique": ("user_id", "domain_name"),
        },
        checks={"status": one_of("PENDING", "VERIFIED", "FAILED", "SUSPENDED")},
        indexes={
            "idx_domains_user_id": Idx(("user_id",)),
            "idx_domains_status": Idx(("status",)),
            "idx_domains_domain_name": Idx(("domain_name",)),
        },
    ),
    "email_providers": Table(
        columns={
            "user_id": BIGINT_NOT_NULL,
            "domain_id": BIGINT,
            "provider_type": varchar(50, nullable=False),
            "provider_name": varchar(255, nullable=False),
            "configuration": TEXT_NOT_NULL,
            "is_active": boolean(True),
            "is_default": boolean(False),
            "priority": integer(0),
            "daily_limit": integer(),
            "monthly_limit": integer(),
            "status": varchar(50, default="ACTIVE"),
            "last_error": TEXT,
            "last_error_at": TIMESTAMP,
            "created_at": TIMESTAMP_NOW,
            "updated_at": TIMESTAMP_NOW,
            "webhook_token": Col("character varying(64)", nullable=False, default=RANDOM_HEX_64),
        },
        foreign_keys={"user_id": ("users", "CASCADE"), "domain_id": ("domains", "SET NULL")},
        uniques={"email_providers_webhook_token_key": ("webhook_token",)},
        checks={
            # provider_type has no check since 023: the installed plugins decide the types.
            "status": one_of("ACTIVE", "ERROR", "DISABLED"),
        },
        indexes={
            "idx_email_providers_user_id": Idx(("user_id",)),
            "idx_email_providers_active": Idx(("is_active", "is_default")),
            "idx_user_default_provider": Idx(
                ("user_id", "is_default"), unique=True, predicate="(is_default = true)"
            ),
        },
    ),
    "contact_lists": Table(
        columns={
            "user_id": BIGINT_NOT_NULL,
            "name": varchar(255, nullable=False),
            "description": TEXT,
            "total_contacts": integer(0),
            "active_contacts": integer(0),
            "double_opt_in_enabled": boolean(True),
            "created_at": TIMESTAMP_NOW,
            "updated_at": TIMESTAMP_NOW,
            # Not in the spec (migration 034): the public form's random id and its fields.
            "public_id": Col(
                "character varying(32)",
                nullable=False,
                default="replace((gen_random_uuid())::text, '-'::text, ''::text)",
            ),
            "form_fields": Col("text[]", nullable=False, default="'{}'::text[]"),
        },
        foreign_keys={"user_id": ("users", "CASCADE")},
        uniques={"unique_list_name_per_user": ("user_id", "name")},
        indexes={
            "idx_contact_lists_user_id": Idx(("user_id",)),
            "idx_contact_lists_public_id": Idx(("public_id",), unique=True),
        },
    ),
    "contacts": Table(
        columns={
            "user_id": BIGINT_NOT_NULL,
            "email": varchar(255, nullable=False),
            "first_name": varchar(255),
            "last_name": varchar(255),
            "status": varchar(50, nullable=False, default="PENDING"),
            "email_verified": boolean(False),
            "confirmation_token": varchar(255),
            "confirmation_sent_at": TIMESTAMP,
            "confirmed_at": TIMESTAMP,
            "unsubscribe_token": varchar(255),
            "unsubscribed_at": TIMESTAMP,
            "unsubscribe_reason": TEXT,
            "bounce_count": integer(0),
            "last_bounce_at": TIMESTAMP,
            "bounce_type": varchar(50),
            "complaint_count": integer(0),
            "last_complaint_at": TIMESTAMP,
            "custom_fields": JSONB,
            "gdpr_consent": boolean(False),
            "gdpr_consent_date": TIMESTAMP,
            "gdpr_ip_address": varchar(45),
            "source": varchar(100),
            "tags": TEXT_ARRAY,
            "created_at": TIMESTAMP_NOW,
            "updated_at": TIMESTAMP_NOW,
        },
        foreign_keys={"user_id": ("users", "CASCADE")},
        uniques={
            "contacts_confirmation_token_key": ("confirmation_token",),
            "contacts_unsubscribe_token_key": ("unsubscribe_token",),
            "unique_contact_per_user": ("user_id", "email"),
        },
        checks={
            "status": one_of("PENDING", "SUBSCRIBED", "UNSUBSCRIBED", "BOUNCED", "COMPLAINED"),
            "bounce_type": one_of("SOFT", "HARD"),
            "source": one_of("WEB_FORM", "CSV_IMPORT", "API", "MANUAL"),
        },
        indexes={
            "idx_contacts_user_id": Idx(("user_id",)),
            "idx_contacts_email": Idx(("email",)),
            "idx_contacts_status": Idx(("status",)),
            "idx_contacts_tags": Idx(("tags",), method="gin"),
            "idx_contacts_custom_fields": Idx(("custom_fields",), method="gin"),
            # migration 024: one contact per address in any case; keyset pages
            "idx_contacts_user_email_lower": Idx(("user_id", "lower(email::text)"), unique=True),
            "idx_contacts_user_id_id": Idx(("user_id", "id")),
        },
    ),
    "contact_list_memberships": Table(
        columns={
            "contact_id": BIGINT_NOT_NULL,
            "list_id": BIGINT_NOT_NULL,
            "status": varchar(50, default="ACTIVE"),
            "subscribed_at": Col("timestamp without time zone", default="CURRENT_TIMESTAMP"),
            "unsubscribed_at": TIMESTAMP,
            "created_at": TIMESTAMP_NOW,
        },
        foreign_keys={
            "contact_id": ("contacts", "CASCADE"),
            "list_id": ("contact_lists", "CASCADE"),
        },
        uniques={"unique_contact_list_membership": ("contact_id", "list_id")},
        checks={"status": one_of("ACTIVE", "REMOVED")},
        indexes={
            "idx_memberships_contact": Idx(("contact_id",)),
            "idx_memberships_list": Idx(("list_id",)),
            "idx_memberships_status": Idx(("status",)),
            "idx_memberships_list_contact": Idx(("list_id", "contact_id")),
        },
    ),
    # Not in the spec (migration 024): the record of BOUNCED/COMPLAINED contacts made
    # SUBSCRIBED or PENDING again.
    "contact_status_overrides": Table(
        columns={
            "contact_id": BIGINT_NOT_NULL,
            "user_id": BIGINT_NOT_NULL,
            "from_status": varchar(50, nullable=False),
            "to_status": varchar(50, nullable=False),
            "reason": TEXT_NOT_NULL,
            "created_at": TIMESTAMP_NOW,
        },
        foreign_keys={"contact_id": ("contacts", "CASCADE"), "user_id": ("users", "CASCADE")},
        checks={
            "from_status": one_of("PENDING", "SUBSCRIBED", "UNSUBSCRIBED", "BOUNCED", "COMPLAINED"),
            "to_status": one_of("PENDING", "SUBSCRIBED", "UNSUBSCRIBED", "BOUNCED", "COMPLAINED"),
        },
        indexes={"idx_contact_status_overrides_contact_id": Idx(("contact_id",))},
    ),
    "segments": Table(
        columns={
            "user_id": BIGINT_NOT_NULL,
            "list_id": BIGINT,
            "name": varchar(255, nullable=False),
            "description": TEXT,
            "conditions": JSONB_NOT_NULL,
            "is_dynamic": boolean(True),
            "cached_count": integer(0),
            "last_calculated_at": TIMESTAMP,
            "created_at": TIMESTAMP_NOW,
            "updated_at": TIMESTAMP_NOW,
        },
        foreign_keys={"user_id": ("users", "CASCADE"), "list_id": ("contact_lists", "CASCADE")},
        indexes={
            "idx_segments_user_id": Idx(("user_id",)),
            "idx_segments_list_id": Idx(("list_id",)),
            "idx_segments_conditions": Idx(("conditions",), method="gin"),
        },
    ),
    "campaign_recipients": Table(
        columns={
            "campaign_id": BIGINT_NOT_NULL,
            "contact_id": BIGINT_NOT_NULL,
            "status": varchar(50, default="PENDING"),
            "sent_at": TIMESTAMP,
            "delivered_at": TIMESTAMP,
            "opened_at": TIMESTAMP,
            "clicked_at": TIMESTAMP,
            "bounced_at": TIMESTAMP,
            "complained_at": TIMESTAMP,
            "open_count": integer(0),
            "click_count": integer(0),
            # Not in the spec (migration 033): mail-privacy proxies' and scanners' opens/clicks.
            "machine_open_count": integer(0),
            "machine_click_count": integer(0),
            "error_message": TEXT,
            "retry_count": integer(0),
            "tracking_id": varchar(255),
            "created_at": TIMESTAMP_NOW,
            "updated_at": TIMESTAMP_NOW,
            # Not in the spec (migration 035): the send path's lease, backoff, a reclaimed
            # lease's possible duplicate and why a row failed.
            "lease_expires_at": TIMESTAMP,
            "next_attempt_at": TIMESTAMP,
            "possible_duplicate": boolean(False, nullable=False),
            "failure": varchar(20),
        },
        foreign_keys={
            "campaign_id": ("email_campaigns", "CASCADE"),
            "contact_id": ("contacts", "CASCADE"),
        },
        uniques={
            "campaign_recipients_tracking_id_key": ("tracking_id",),
            "unique_campaign_contact": ("campaign_id", "contact_id"),
        },
        checks={
            "status": one_of(
                "PENDING", "SENDING", "SENT", "DELIVERED", "FAILED", "BOUNCED", "OPENED", "CLICKED"
            ),
        },
        indexes={
            "idx_campaign_recipients_campaign": Idx(("campaign_id",)),
            "idx_campaign_recipients_contact": Idx(("contact_id",)),
            "idx_campaign_recipients_status": Idx(("status",)),
            "idx_campaign_recipients_tracking": Idx(("tracking_id",)),
            "idx_campaign_recipients_unsent": Idx(
                ("campaign_id", "id"),
                predicate="((status)::text = ANY ((ARRAY['PENDING'::character varying, "
                "'SENDING'::character varying])::text[]))",
            ),
        },
    ),
    "campaign_links": Table(
        columns={
            "campaign_id": BIGINT_NOT_NULL,
            "original_url": TEXT_NOT_NULL,
            # Not in the spec (migration 030): the index sender_rs gives the link.
            "link_index": integer(nullable=False),
            "short_code": varchar(20, nullable=False),
            "click_count": integer(0),
            "unique_click_count": integer(0),
            "created_at": TIMESTAMP_NOW,
        },
        foreign_keys={"campaign_id": ("email_campaigns", "CASCADE")},
        uniques={"campaign_links_short_code_key": ("short_code",)},
        indexes={
            "idx_campaign_links_campaign": Idx(("campaign_id",)),
            "idx_campaign_links_short_code": Idx(("short_code",)),
            "idx_campaign_links_campaign_index": Idx(("campaign_id", "link_index"), unique=True),
        },
    ),
    "campaign_clicks": Table(
        columns={
            "campaign_id": BIGINT_NOT_NULL,
            "recipient_id": BIGINT_NOT_NULL,
            "link_id": BIGINT_NOT_NULL,
            "clicked_at": TIMESTAMP_NOW,
            "ip_address": varchar(45),
            "user_agent": TEXT,
            # Not in the spec (migration 033): a link scanner's click.
            "is_machine": boolean(False, nullable=False),
        },
        foreign_keys={
            "campaign_id": ("email_campaigns", "CASCADE"),
            "recipient_id": ("campaign_recipients", "CASCADE"),
            "link_id": ("campaign_links", "CASCADE"),
        },
        indexes={
            "idx_campaign_clicks_campaign": Idx(("campaign_id",)),
            "idx_campaign_clicks_recipient": Idx(("recipient_id",)),
            "idx_campaign_clicks_link": Idx(("link_id",)),
            "idx_campaign_clicks_timestamp": Idx(("clicked_at",)),
        },
    ),
    "api_keys": Table(
        columns={
            "user_id": BIGINT_NOT_NULL,
            "key_name": varchar(255, nullable=False),
            "api_key": varchar(64, nullable=False),
            "key_prefix": varchar(10, nullable=False),
            "scopes": TEXT_ARRAY,
            "is_active": boolean(True),
            "last_used_at": TIMESTAMP,
            "expires_at": TIMESTAMP,
            "created_at": TIMESTAMP_NOW,
        },
        foreign_keys={"user_id": ("users", "CASCADE")},
        uniques={"api_keys_api_key_key": ("api_key",)},
        checks={
            "scopes": Check(
                frozenset(
                    {
                        "read:contacts",
                        "write:contacts",
                        "read:campaigns",
                        "write:campaigns",
                        "send:campaigns",
                        "read:templates",
                        "write:templates",
                        "read:analytics",
                    }
                ),
                subset=True,
            ),
        },
        indexes={
            "idx_api_keys_user_id": Idx(("user_id",)),
            "idx_api_keys_key": Idx(("api_key",)),
            "idx_api_keys_active": Idx(("is_active",)),
        },
    ),
    "rate_limits": Table(
        columns={
            "user_id": BIGINT_NOT_NULL,
            "resource_type": varchar(50, nullable=False),
            "window_start": TIMESTAMP_NOT_NULL,
            "window_end": TIMESTAMP_NOT_NULL,
            "request_count": integer(0),
            "limit_value": integer(nullable=False),
            "created_at": TIMESTAMP_NOW,
        },
        foreign_keys={"user_id": ("users", "CASCADE")},
        uniques={"unique_rate_limit_window": ("user_id", "resource_type", "window_start")},
        checks={"resource_type": one_of("API_REQUEST", "EMAIL_SEND", "SUBSCRIPTION")},
        indexes={
            "idx_rate_limits_user_resource": Idx(("user_id", "resource_type", "window_end")),
        },
    ),
    "email_logs": Table(
        columns={
            "user_id": BIGINT_NOT_NULL,
            "campaign_id": BIGINT,
            "recipient_id": BIGINT,
            "provider_id": BIGINT,
            "email_type": varchar(50, nullable=False),
            "recipient_email": varchar(255, nullable=False),
            "subject": varchar(500),
            "status": varchar(50, nullable=False),
            "provider_message_id": varchar(255),
            "error_message": TEXT,
            "sent_at": TIMESTAMP,
            "delivered_at": TIMESTAMP,
            "created_at": TIMESTAMP_NOW,
        },
        foreign_keys={
            "user_id": ("users", "CASCADE"),
            "campaign_id": ("email_campaigns", "SET NULL"),
            "recipient_id": ("campaign_recipients", "SET NULL"),
            "provider_id": ("email_providers", "SET NULL"),
        },
        checks={
            "email_type": one_of("CAMPAIGN", "TRANSACTIONAL", "CONFIRMATION"),
            "status": one_of("QUEUED", "SENT", "DELIVERED", "BOUNCED", "FAILED"),
        },
        indexes={
            "idx_email_logs_user_id": Idx(("user_id",)),
            "idx_email_logs_campaign": Idx(("campaign_id",)),
            "idx_email_logs_status": Idx(("status",)),
            "idx_email_logs_created": Idx(("created_at",)),
            # Migration 037: the ON DELETE SET NULL of an archived campaign's recipients.
            "idx_email_logs_recipient_id": Idx(
                ("recipient_id",), predicate="(recipient_id IS NOT NULL)"
            ),
            "idx_email_logs_provider_message": Idx(("provider_message_id",)),
        },
    ),
    "webhook_events": Table(
        columns={
            "user_id": BIGINT_NOT_NULL,
            "provider_id": BIGINT,
            "event_type": varchar(100, nullable=False),
            "provider_event_id": varchar(255),
            "payload": JSONB_NOT_NULL,
            "processed": boolean(False),
            "processed_at": TIMESTAMP,
            "error_message": TEXT,
            "created_at": TIMESTAMP_NOW,
            "attempts": integer(0, nullable=False),
        },
        foreign_keys={
            "user_id": ("users", "CASCADE"),
            "provider_id": ("email_providers", "SET NULL"),
        },
        checks={
            "event_type": one_of(
                "DELIVERED", "BOUNCED", "OPENED", "CLICKED", "COMPLAINED", "UNSUBSCRIBED"
            ),
        },
        indexes={
            "idx_webhook_events_user": Idx(("user_id",)),
            "idx_webhook_events_type": Idx(("event_type",)),
            "idx_webhook_events_processed": Idx(("processed",)),
            "idx_webhook_events_provider_event": Idx(("provider_event_id",)),
            "uq_webhook_events_provider_event": Idx(
                ("provider_id", "provider_event_id"), unique=True
            ),
            "idx_webhook_events_pending": Idx(("id",), predicate="(processed = false)"),
        },
    ),
    "email_campaigns_archive": Table(
        # summary: migration 037 (the statistics answer as it read when archived).
        columns={**CAMPAIGN_COLUMNS, "archived_at": TIMESTAMP_NOW, "summary": JSONB},
        checks={"status": CAMPAIGN_STATUS},
        indexes={"idx_email_campaigns_archive_created_by": Idx(("created_by",))},
        serial_id=False,
    ),
    # Not in the spec (migration 025): GDPR tombstones (a keyed hash of an erased address, the
    # anonymised record of the erasure) and the one sealed key they are hashed under.
    "erased_contacts": Table(
        columns={
            "user_id": BIGINT_NOT_NULL,
            "contact_id": BIGINT_NOT_NULL,
            "address_hash": Col("bytea", nullable=False),
            "erased_at": TIMESTAMP_NOW,
        },
        foreign_keys={"user_id": ("users", "CASCADE")},
        indexes={"idx_erased_contacts_user_hash": Idx(("user_id", "address_hash"))},
    ),
    "erasure_keys": Table(
        columns={"sealed_key": TEXT_NOT_NULL, "created_at": TIMESTAMP_NOW},
        checks={"id": one_of()},  # id = 1: one key per installation
        serial_id=False,
    ),
    # Not in the spec (migration 030): the one sealed key of the tokens in campaign mail.
    "tracking_keys": Table(
        columns={"sealed_key": TEXT_NOT_NULL, "created_at": TIMESTAMP_NOW},
        checks={"id": one_of()},  # id = 1: one key per installation
        serial_id=False,
    ),
    # Not in the spec (migration 033): every applied open and click, keyed by its stream entry
    # id (a redelivered batch counts once); the opens' log and the time series' source.
    "tracking_events": Table(
        columns={
            "event_id": varchar(40, nullable=False),
            "kind": varchar(10, nullable=False),
            "campaign_id": BIGINT_NOT_NULL,
            "recipient_id": BIGINT_NOT_NULL,
            "link_id": BIGINT,
            "occurred_at": TIMESTAMP_NOT_NULL,
            "is_machine": boolean(False, nullable=False),
            "machine_reason": varchar(50),
            "ip_address": varchar(45),
            "user_agent": TEXT,
        },
        foreign_keys={
            "campaign_id": ("email_campaigns", "CASCADE"),
            "recipient_id": ("campaign_recipients", "CASCADE"),
            "link_id": ("campaign_links", "CASCADE"),
        },
        checks={"kind": one_of("open", "click")},
        indexes={
            "idx_tracking_events_campaign_time": Idx(("campaign_id", "occurred_at")),
            "idx_tracking_events_recipient": Idx(("recipient_id",)),
            # Migration 037: the ON DELETE CASCADE of an archived campaign's links.
            "idx_tracking_events_link_id": Idx(("link_id",), predicate="(link_id IS NOT NULL)"),
        },
        serial_id=False,
        primary_key=("event_id",),
    ),
    # Not in the spec (migration 036): each user's retention choices (no row: the defaults).
    "user_retention_settings": Table(
        columns={
            "user_id": BIGINT_NOT_NULL,
            "campaign_reports": varchar(16, nullable=False, default="2y"),
            "click_logs": varchar(16, nullable=False, default="90d"),
            "contact_history": varchar(16, nullable=False, default="forever"),
            "updated_at": TIMESTAMP_NOW,
        },
        foreign_keys={"user_id": ("users", "CASCADE")},
        checks={
            "campaign_reports": one_of("1y", "2y", "forever"),
            "click_logs": one_of("30d", "90d", "1y"),
            "contact_history": one_of("1y", "3y", "forever"),
        },
        serial_id=False,
        primary_key=("user_id",),
    ),
    # Not in the spec (migration 036): what each retention run did.
    "retention_runs": Table(
        columns={
            "job": varchar(64, nullable=False),
            "dry_run": boolean(nullable=False),
            "started_at": TIMESTAMP_NOT_NULL,
            "seconds": Col("double precision", nullable=False),
            "rows": JSONB_NOT_NULL,
            "error": TEXT,
        },
        indexes={"idx_retention_runs_job_started": Idx(("job", "started_at"))},
    ),
    # Not in the spec (migration 037): aggregated campaign_clicks, per link and UTC day.
    "campaign_click_daily": Table(
        columns={
            "campaign_id": BIGINT_NOT_NULL,
            "link_id": BIGINT_NOT_NULL,
            "day": Col("date", nullable=False),
            "clicks": integer(0, nullable=False),
            "machine_clicks": integer(0, nullable=False),
        },
        foreign_keys={
            "campaign_id": ("email_campaigns", "CASCADE"),
            "link_id": ("campaign_links", "CASCADE"),
        },
        indexes={"idx_campaign_click_daily_link": Idx(("link_id",))},
        serial_id=False,
        primary_key=("campaign_id", "link_id", "day"),
    ),
    # Not in the spec: the outbox provider's messages (migration 023).
    "outbox_messages": Table(
        columns={
            "user_id": BIGINT_NOT_NULL,
            "campaign_id": BIGINT,
            "provider_id": BIGINT,
            "recipient_email": varchar(255, nullable=False),
            "subject": varchar(500, nullable=False),
            "message_id": varchar(255, nullable=False),
            "raw_message": Col("bytea", nullable=False),
            "created_at": TIMESTAMP_NOW,
        },
        foreign_keys={
            "user_id": ("users", "CASCADE"),
            "campaign_id": ("email_campaigns", "SET NULL"),
            "provider_id": ("email_providers", "SET NULL"),
        },
        indexes={
            "idx_outbox_messages_user_id": Idx(("user_id", "id")),
            # Migration 037: the ON DELETE SET NULL of an archived campaign.
            "idx_outbox_messages_campaign_id": Idx(
                ("campaign_id",), predicate="(campaign_id IS NOT NULL)"
            ),
        },
    ),
    # Not in the spec: the transactional send API's idempotency keys (migration 026).
    "idempotency_keys": Table(
        columns={
            "user_id": BIGINT_NOT_NULL,
            "idempotency_key": varchar(255, nullable=False),
            "request_hash": varchar(64, nullable=False),
            "email_log_id": BIGINT,
            # Migration 031: every message of the answer (a request may name 50 recipients).
            "email_log_ids": Col("bigint[]"),
            "created_at": TIMESTAMP_NOW,
            "expires_at": TIMESTAMP_NOT_NULL,
        },
        foreign_keys={"user_id": ("users", "CASCADE"), "email_log_id": ("email_logs", "SET NULL")},
        uniques={"uq_idempotency_keys_user_key": ("user_id", "idempotency_key")},
        indexes={"idx_idempotency_keys_expires": Idx(("expires_at",))},
    ),
    # Not in the spec: the immutable versions of a template (migration 028).
    "email_template_versions": Table(
        columns={
            "template_id": BIGINT_NOT_NULL,
            "version": integer(nullable=False),
            "subject": varchar(500, nullable=False),
            "html": TEXT,
            "text": TEXT,
            "preview_text": varchar(255),
            "created_at": TIMESTAMP_NOW,
            "created_by": BIGINT,
        },
        foreign_keys={
            "template_id": ("email_templates", "CASCADE"),
            "created_by": ("users", "SET NULL"),
        },
        uniques={"uq_email_template_versions_template_version": ("template_id", "version")},
    ),
    # Not in the spec: CSV imports (migration 027). The job, its upload in chunks (the job's
    # foreign key deferred, see the migration), its rejected rows and the addresses it has seen.
    "import_jobs": Table(
        columns={
            "user_id": BIGINT_NOT_NULL,
            "list_id": BIGINT_NOT_NULL,
            "status": varchar(20, nullable=False, default="QUEUED"),
            "mode": varchar(20, nullable=False),
            "mapping": JSONB_NOT_NULL,
            "delimiter": varchar(1),
            "file_name": varchar(255),
            **{
                name: Col("bigint", nullable=False, default="0")
                for name in (
                    "upload_bytes",
                    "rows_read",
                    "inserted",
                    "updated",
                    "skipped",
                    "rejected",
                    "committed_offset",
                    "committed_line",
                )
            },
            "error": TEXT,
            "attempts": integer(0, nullable=False),
            "lease_expires_at": TIMESTAMP,
            "heartbeat_at": TIMESTAMP,
            "created_at": TIMESTAMP_NOW,
            "started_at": TIMESTAMP,
            "finished_at": TIMESTAMP,
        },
        foreign_keys={"user_id": ("users", "CASCADE"), "list_id": ("contact_lists", "CASCADE")},
        checks={
            "status": one_of("QUEUED", "RUNNING", "COMPLETED", "FAILED"),
            "mode": one_of("subscribe", "update_only", "unsubscribe"),
        },
        indexes={
            "idx_import_jobs_user_id_id": Idx(("user_id", "id")),
            "idx_import_jobs_status_lease": Idx(("status", "lease_expires_at")),
            "idx_import_jobs_list_id": Idx(("list_id",)),
        },
    ),
    "import_uploads": Table(
        columns={
            "job_id": BIGINT_NOT_NULL,
            "seq": integer(nullable=False),
            "start_offset": BIGINT_NOT_NULL,
            "data": Col("bytea", nullable=False),
        },
        foreign_keys={"job_id": ("import_jobs", "CASCADE")},
        primary_key=("job_id", "seq"),
    ),
    "import_rejections": Table(
        columns={
            "job_id": BIGINT_NOT_NULL,
            "line_number": BIGINT_NOT_NULL,
            "reason": TEXT_NOT_NULL,
            "excerpt": TEXT,
        },
        foreign_keys={"job_id": ("import_jobs", "CASCADE")},
        primary_key=("job_id", "line_number"),
    ),
    "import_seen_addresses": Table(
        columns={
            "job_id": BIGINT_NOT_NULL,
            "address": TEXT_NOT_NULL,
            "line_number": BIGINT_NOT_NULL,
            "address_key": BIGINT_NOT_NULL,
        },
        foreign_keys={},  # none since migration 040: the retention sweep removes orphans
        primary_key=("job_id", "address_key", "line_number"),
    ),
}

ON_DELETE = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}


def has_id(table: Table) -> bool:
    return table.primary_key == ("id",)


def expected_columns(name: str, table: Table) -> dict[str, Col]:
    if not has_id(table):
        return table.columns
    default = f"nextval('{name}_id_seq'::regclass)" if table.serial_id else None
    return {"id": Col("bigint", nullable=False, default=default), **table.columns}


def expected_indexes(name: str, table: Table) -> dict[str, Idx]:
    """The spec's named indexes plus those backing the primary key and UNIQUE constraints."""
    backing = {f"{name}_pkey": Idx(table.primary_key, unique=True)}
    backing |= {uq: Idx(columns, unique=True) for uq, columns in table.uniques.items()}
    return backing | table.indexes


@pytest.fixture(scope="module")
async def catalog(migrated_database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(migrated_database_url)
    yield conn
    await conn.close()


async def test_exactly_the_spec_tables_and_those_added_exist(catalog: asyncpg.Connection) -> None:
    rows = await catalog.fetch(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"
    )
    assert (
        len(EXPECTED) == 32
    )  # the spec's 17, outbox_messages (023), contact_status_overrides (024), erased_contacts
    # and erasure_keys (025), idempotency_keys (026), the four import tables (027),
    # email_template_versions (028), tracking_keys (030), tracking_events (033),
    # user_retention_settings and retention_runs (036), campaign_click_daily (037)
    assert {row["relname"] for row in rows} == {*EXPECTED, "alembic_version"}


@pytest.mark.parametrize("table", EXPECTED)
async def test_columns(catalog: asyncpg.Connection, table: str) -> None:
    rows = await catalog.fetch(
        """
        SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type,
               NOT a.attnotnull AS nullable, pg_get_expr(d.adbin, d.adrelid) AS default
        FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
        """,
        table,
    )
    actual = {row["attname"]: Col(row["type"], row["nullable"], row["default"]) for row in rows}
    assert actual == expected_columns(table, EXPECTED[table])


@pytest.mark.parametrize("table", EXPECTED)
async def test_primary_key_foreign_keys_and_unique_constraints(
    catalog: asyncpg.Connection, table: str
) -> None:
    rows = await catalog.fetch(
        """
        SELECT con.conname, con.contype::text, con.confrelid::regclass::text AS target,
               con.confdeltype::text,
               array(SELECT a.attname FROM unnest(con.confkey) k(attnum)
                     JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum)
                 AS target_columns,
               array(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(attnum, pos)
                     JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
                     ORDER BY k.pos) AS columns
        FROM pg_constraint con WHERE con.conrelid = $1::regclass AND con.contype IN ('p', 'f', 'u')
        """,
        table,
    )
    expected = EXPECTED[table]
    by_type = {kind: [row for row in rows if row["contype"] == kind] for kind in "pfu"}
    assert [(row["conname"], tuple(row["columns"])) for row in by_type["p"]] == [
        (f"{table}_pkey", expected.primary_key)
    ]
    foreign_keys = {
        row["conname"]: (
            tuple(row["columns"]),
            row["target"],
            tuple(row["target_columns"]),
            ON_DELETE[row["confdeltype"]],
        )
        for row in by_type["f"]
    }
    assert foreign_keys == {
        f"{table}_{column}_fkey": ((column,), target, ("id",), action)
        for column, (target, action) in expected.foreign_keys.items()
    }
    uniques = {row["conname"]: tuple(row["columns"]) for row in by_type["u"]}
    assert uniques == expected.uniques


@pytest.mark.parametrize("table", EXPECTED)
async def test_check_constraints(catalog: asyncpg.Connection, table: str) -> None:
    rows = await catalog.fetch(
        """
        SELECT con.conname, pg_get_constraintdef(con.oid) AS definition,
               array(SELECT a.attname FROM unnest(con.conkey) k(attnum)
                     JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum)
                 AS columns
        FROM pg_constraint con WHERE con.conrelid = $1::regclass AND con.contype = 'c'
        """,
        table,
    )
    actual = {
        row["conname"]: (
            tuple(row["columns"]),
            frozenset(re.findall(r"'([^']*)'", row["definition"])),
            "<@" in row["definition"],
        )
        for row in rows
    }
    assert actual == {
        f"ck_{table}_{column}": ((column,), check.values, check.subset)
        for column, check in EXPECTED[table].checks.items()
    }


@pytest.mark.parametrize("table", EXPECTED)
async def test_indexes(catalog: asyncpg.Connection, table: str) -> None:
    rows = await catalog.fetch(
        """
        SELECT ic.relname AS name, am.amname AS method, i.indisunique AS unique,
               pg_get_expr(i.indpred, i.indrelid) AS predicate,
               array(SELECT pg_get_indexdef(i.indexrelid, k, true)
                     FROM generate_series(1, i.indnatts) k ORDER BY k) AS columns
        FROM pg_index i
        JOIN pg_class ic ON ic.oid = i.indexrelid
        JOIN pg_am am ON am.oid = ic.relam
        WHERE i.indrelid = $1::regclass
        """,
        table,
    )
    actual = {
        row["name"]: Idx(tuple(row["columns"]), row["method"], row["unique"], row["predicate"])
        for row in rows
    }
    assert actual == expected_indexes(table, EXPECTED[table])


async def test_every_serial_sequence_belongs_to_its_id_column(catalog: asyncpg.Connection) -> None:
    rows = await catalog.fetch(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND c.relkind = 'S'"
    )
    assert {row["relname"] for row in rows} == {
        f"{name}_id_seq" for name, table in EXPECTED.items() if table.serial_id and has_id(table)
    }
    for name, table in EXPECTED.items():
        if not has_id(table):
            continue
        owned = await catalog.fetchval("SELECT pg_get_serial_sequence($1, 'id')", name)
        assert owned == (f"public.{name}_id_seq" if table.serial_id else None)
