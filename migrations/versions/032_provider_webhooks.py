"""Provider webhooks (issue 13): each provider's URL token, webhook events stored once and
retried a bounded number of times, and the campaign figures the events move (not in the spec).

- `email_providers.webhook_token`: the unguessable path segment of the provider's webhook URL
  (`POST /webhooks/{webhook_token}`), 64 hex digits (two random UUIDs, 244 random bits), unique.
  Existing rows get one here, new rows from the column's default (gen_random_uuid draws from
  PostgreSQL's strong random source).
- `uq_webhook_events_provider_event`: unique (provider_id, provider_event_id). A provider
  retries a delivery (SNS for an hour, SendGrid for a day) and a replay sends it again: the
  insert of a duplicate does nothing, so an event is stored, and applied, once.
- `webhook_events.attempts`: how many times processing failed; the periodic job retries a
  failed event until it reaches the bound, then leaves it (with its `error_message`) for an
  operator. `idx_webhook_events_pending`: the rows that job reads, and only those.
- `email_campaigns.bounce_count`: recipients whose message bounced, so `bounce_rate` is
  bounce_count / sent_count without counting the campaign's recipients at each event.
- `email_campaigns.pause_reason`: why a campaign paused itself (complaint-rate protection);
  NULL when its owner paused it. The archive mirrors the live table's columns.

Revision ID: 032
Revises: 031
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "032"
down_revision: str | None = "031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As PostgreSQL shows it (pg_get_expr), so that alembic's comparison matches it as text.
RANDOM_HEX_64 = (
    "(replace((gen_random_uuid())::text, '-'::text, ''::text) || "
    "replace((gen_random_uuid())::text, '-'::text, ''::text))"
)
CAMPAIGN_TABLES = ("email_campaigns", "email_campaigns_archive")


def upgrade() -> None:
    op.add_column(
        "email_providers",
        sa.Column("webhook_token", sa.String(64), nullable=True),
    )
    op.execute(f"UPDATE email_providers SET webhook_token = {RANDOM_HEX_64}")  # noqa: S608
    op.alter_column(
        "email_providers",
        "webhook_token",
        nullable=False,
        server_default=sa.text(RANDOM_HEX_64),
    )
    op.create_unique_constraint(
        op.f("email_providers_webhook_token_key"), "email_providers", ["webhook_token"]
    )
    op.add_column(
        "webhook_events",
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.create_index(
        op.f("uq_webhook_events_provider_event"),
        "webhook_events",
        ["provider_id", "provider_event_id"],
        unique=True,
    )
    op.create_index(
        op.f("idx_webhook_events_pending"),
        "webhook_events",
        ["id"],
        postgresql_where=sa.text("processed = false"),
    )
    for table in CAMPAIGN_TABLES:
        op.add_column(table, sa.Column("bounce_count", sa.Integer(), server_default=sa.text("0")))
        op.add_column(table, sa.Column("pause_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    for table in CAMPAIGN_TABLES:
        op.drop_column(table, "pause_reason")
        op.drop_column(table, "bounce_count")
    op.drop_index(op.f("idx_webhook_events_pending"), table_name="webhook_events")
    op.drop_index(op.f("uq_webhook_events_provider_event"), table_name="webhook_events")
    op.drop_column("webhook_events", "attempts")
    op.drop_constraint(op.f("email_providers_webhook_token_key"), "email_providers", type_="unique")
    op.drop_column("email_providers", "webhook_token")
