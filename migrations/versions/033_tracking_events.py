"""Tracking events: the applied-event log that makes the buffer's redelivery harmless, and the
machine (mail-privacy proxy, link scanner) counts kept apart from the human ones.

- `tracking_events`: one row per open or click taken from the Redis stream, keyed by the
  stream entry id (`<ms>-<seq>`, unique per hit). The worker inserts the batch's rows with
  `ON CONFLICT DO NOTHING` in the same transaction as every handler's effects and acknowledges
  the stream entries only after it commits, so a batch delivered again after a crash between
  commit and acknowledgement finds its ids already there and counts nothing twice. It is also
  the log of opens (the spec keeps only clicks, in `campaign_clicks`) the statistics' time
  series reads; `is_machine` and `machine_reason` say why an event was kept out of the rates.
- `campaign_clicks.is_machine`: a scanner's click is recorded like a person's, but flagged.
- `campaign_recipients.machine_open_count` / `machine_click_count`: the spec's `open_count`,
  `click_count`, `opened_at` and `clicked_at` count people only (the rates, and segments'
  "opened campaign X", read them); these count the rest.

Revision ID: 033
Revises: 032
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "033"
down_revision: str | None = "032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tracking_events",
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("recipient_id", sa.BigInteger(), nullable=False),
        sa.Column("link_id", sa.BigInteger(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("is_machine", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("machine_reason", sa.String(length=50), nullable=True),
        sa.Column("ip_address", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.Text(), nullable=True),
        sa.CheckConstraint("kind IN ('open', 'click')", name=op.f("ck_tracking_events_kind")),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["email_campaigns.id"],
            name=op.f("tracking_events_campaign_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["campaign_recipients.id"],
            name=op.f("tracking_events_recipient_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["campaign_links.id"],
            name=op.f("tracking_events_link_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("tracking_events_pkey")),
    )
    # The statistics' time series: one campaign's events in time order.
    op.create_index(
        "idx_tracking_events_campaign_time", "tracking_events", ["campaign_id", "occurred_at"]
    )
    op.create_index("idx_tracking_events_recipient", "tracking_events", ["recipient_id"])
    op.add_column(
        "campaign_clicks",
        sa.Column("is_machine", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    for column in ("machine_open_count", "machine_click_count"):
        op.add_column(
            "campaign_recipients",
            sa.Column(column, sa.Integer(), server_default=sa.text("0"), nullable=True),
        )


def downgrade() -> None:
    for column in ("machine_click_count", "machine_open_count"):
        op.drop_column("campaign_recipients", column)
    op.drop_column("campaign_clicks", "is_machine")
    op.drop_index("idx_tracking_events_recipient", table_name="tracking_events")
    op.drop_index("idx_tracking_events_campaign_time", table_name="tracking_events")
    op.drop_table("tracking_events")
