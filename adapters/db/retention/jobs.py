"""Every retention job, by cadence: what `openmailer retention` and the scheduled actors run.

The scheduler enqueues each cadence's actor once per period (daily at 03:00 UTC, monthly on
the 1st at 02:00 UTC, the spec's times); the actor runs that cadence's jobs in this order.
"""

from __future__ import annotations

from openmailer.adapters.db.campaign_archive import archive_campaigns
from openmailer.adapters.db.click_rollup import aggregate_clicks
from openmailer.adapters.db.retention.contact_history import purge_contact_history
from openmailer.adapters.db.retention.fixed_periods import (
    deactivate_expired_api_keys,
    purge_email_logs,
    purge_erasure_audit,
    purge_pending_contacts,
    purge_processed_webhook_events,
)
from openmailer.adapters.db.retention.import_scratch import purge_orphaned_seen_addresses
from openmailer.adapters.db.retention.monthly_counters import reset_monthly_counts
from openmailer.core.retention.model import Cadence, RetentionJob

DAILY, MONTHLY = Cadence.DAILY, Cadence.MONTHLY

RETENTION_JOBS: tuple[RetentionJob, ...] = (
    RetentionJob(
        "pending-contacts",
        DAILY,
        "delete contacts still PENDING 30 days after they were added (and their memberships)",
        purge_pending_contacts,
    ),
    RetentionJob("email-logs", DAILY, "delete email logs older than 90 days", purge_email_logs),
    RetentionJob(
        "webhook-events",
        DAILY,
        "delete processed provider events older than 30 days",
        purge_processed_webhook_events,
    ),
    RetentionJob(
        "expired-api-keys", DAILY, "mark expired API keys inactive", deactivate_expired_api_keys
    ),
    RetentionJob(
        "erasure-audit",
        DAILY,
        "delete GDPR erasure tombstones older than 7 years",
        purge_erasure_audit,
    ),
    RetentionJob(
        "contact-history",
        DAILY,
        "delete left memberships and status overrides older than each user's choice",
        purge_contact_history,
    ),
    RetentionJob(
        "import-scratch",
        DAILY,
        "delete the seen addresses of import jobs deleted before they ended",
        purge_orphaned_seen_addresses,
    ),
    RetentionJob(
        "monthly-counters",
        MONTHLY,
        "reset users' monthly_emails_sent counted for an earlier month",
        reset_monthly_counts,
    ),
    RetentionJob(
        "aggregate-clicks",
        MONTHLY,
        "sum detailed clicks older than each user's choice into daily counts, then delete them",
        aggregate_clicks,
    ),
    RetentionJob(
        "archive-campaigns",
        MONTHLY,
        "archive finished campaigns older than each user's choice into their summary",
        archive_campaigns,
    ),
)
