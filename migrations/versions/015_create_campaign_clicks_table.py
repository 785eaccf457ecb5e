"""Create campaign_clicks (spec table 12).

Revision ID: 015
Revises: 014
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "015"
down_revision: str | None = "014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "campaign_clicks",
        sa.Column("id", sa.BigInteger(), nullable=False),  # BIGSERIAL
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("recipient_id", sa.BigInteger(), nullable=False),
        sa.Column("link_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "clicked_at", sa.DateTime(), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False
        ),
        sa.Column("ip_address", sa.String(45), nullable=True),
        sa.Column("user_agent", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("campaign_clicks_pkey")),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["email_campaigns.id"],
            name=op.f("campaign_clicks_campaign_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["campaign_recipients.id"],
            name=op.f("campaign_clicks_recipient_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["campaign_links.id"],
            name=op.f("campaign_clicks_link_id_fkey"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(op.f("idx_campaign_clicks_campaign"), "campaign_clicks", ["campaign_id"])
    op.create_index(op.f("idx_campaign_clicks_recipient"), "campaign_clicks", ["recipient_id"])
    op.create_index(op.f("idx_campaign_clicks_link"), "campaign_clicks", ["link_id"])
    op.create_index(op.f("idx_campaign_clicks_timestamp"), "campaign_clicks", ["clicked_at"])


def downgrade() -> None:
    op.drop_table("campaign_clicks")
