"""Create campaign_links (spec table 11).

Revision ID: 014
Revises: 013
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "014"
down_revision: str | None = "013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "campaign_links",
        sa.Column("id", sa.BigInteger(), nullable=False),  # BIGSERIAL
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("original_url", sa.Text(), nullable=False),
        sa.Column("short_code", sa.String(20), nullable=False),  # /track/click/{short_code}
        sa.Column("click_count", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column("unique_click_count", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("campaign_links_pkey")),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["email_campaigns.id"],
            name=op.f("campaign_links_campaign_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("short_code", name=op.f("campaign_links_short_code_key")),
    )
    op.create_index(op.f("idx_campaign_links_campaign"), "campaign_links", ["campaign_id"])
    op.create_index(op.f("idx_campaign_links_short_code"), "campaign_links", ["short_code"])


def downgrade() -> None:
    op.drop_table("campaign_links")
