"""Campaign archive and click aggregation: what the statistics still need once the monthly
retention jobs have removed the detail rows (neither is in the spec, which only says
"summarize old click data" and "move campaigns to the archive table").

- `campaign_click_daily`: one row per campaign, link and UTC day, summing the `campaign_clicks`
  rows the click aggregation deleted (people's `clicks` and scanners' `machine_clicks`). Of a
  click row, the statistics read nothing but the per-link machine count (people's per-link
  clicks and unique clicks are cached on `campaign_links`, per-recipient counts on
  `campaign_recipients`, and the hourly time series reads `tracking_events`), so that sum is
  all they need; no unique count is kept per day (unique clickers cannot be added up across
  days, and the link's total is already cached).
- `email_campaigns_archive.summary`: the campaign's whole statistics answer (totals, links,
  hourly series) at the moment it was archived, since the archive row's spec columns hold
  only the rates and counts, and the detail rows they came from are gone afterwards.
- Three partial indexes on references that had none, so that removing an archived campaign's
  rows costs an index probe per row instead of a scan of the referencing table per row (the
  foreign keys' ON DELETE actions look the rows up by these columns): `email_logs.recipient_id`
  (SET NULL; also what a contact's erasure deletes), `outbox_messages.campaign_id` (SET NULL)
  and `tracking_events.link_id` (CASCADE). Partial: the NULLs (transactional mail, opens) are
  never looked up, and stay out of the indexes the send and tracking paths write.

Revision ID: 037
Revises: 036
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "037"
down_revision: str | None = "036"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REFERENCES = (
    ("email_logs", "recipient_id"),
    ("outbox_messages", "campaign_id"),
    ("tracking_events", "link_id"),
)


def upgrade() -> None:
    op.create_table(
        "campaign_click_daily",
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("link_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("clicks", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("machine_clicks", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["email_campaigns.id"],
            name=op.f("campaign_click_daily_campaign_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["campaign_links.id"],
            name=op.f("campaign_click_daily_link_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "campaign_id", "link_id", "day", name=op.f("campaign_click_daily_pkey")
        ),
    )
    # The link's side of the cascade (a deleted link would scan the table otherwise).
    op.create_index("idx_campaign_click_daily_link", "campaign_click_daily", ["link_id"])
    op.add_column(
        "email_campaigns_archive", sa.Column("summary", postgresql.JSONB(), nullable=True)
    )
    for table, column in REFERENCES:
        op.create_index(
            f"idx_{table}_{column}",
            table,
            [column],
            postgresql_where=sa.text(f"{column} IS NOT NULL"),
        )


def downgrade() -> None:
    for table, column in REFERENCES:
        op.drop_index(f"idx_{table}_{column}", table_name=table)
    op.drop_column("email_campaigns_archive", "summary")
    op.drop_index("idx_campaign_click_daily_link", table_name="campaign_click_daily")
    op.drop_table("campaign_click_daily")
