"""Create campaign_recipients (spec table 10).

Revision ID: 013
Revises: 012
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "013"
down_revision: str | None = "012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = "'PENDING', 'SENDING', 'SENT', 'DELIVERED', 'FAILED', 'BOUNCED', 'OPENED', 'CLICKED'"


def upgrade() -> None:
    op.create_table(
        "campaign_recipients",
        sa.Column("id", sa.BigInteger(), nullable=False),  # BIGSERIAL
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("contact_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(50), server_default="PENDING", nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.Column("opened_at", sa.DateTime(), nullable=True),
        sa.Column("clicked_at", sa.DateTime(), nullable=True),
        sa.Column("bounced_at", sa.DateTime(), nullable=True),
        sa.Column("complained_at", sa.DateTime(), nullable=True),
        sa.Column("open_count", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column("click_count", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("retry_count", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column("tracking_id", sa.String(255), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("campaign_recipients_pkey")),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["email_campaigns.id"],
            name=op.f("campaign_recipients_campaign_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("campaign_recipients_contact_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("tracking_id", name=op.f("campaign_recipients_tracking_id_key")),
        sa.UniqueConstraint("campaign_id", "contact_id", name=op.f("unique_campaign_contact")),
        sa.CheckConstraint(f"status IN ({STATUSES})", name=op.f("ck_campaign_recipients_status")),
    )
    op.create_index(
        op.f("idx_campaign_recipients_campaign"), "campaign_recipients", ["campaign_id"]
    )
    op.create_index(op.f("idx_campaign_recipients_contact"), "campaign_recipients", ["contact_id"])
    op.create_index(op.f("idx_campaign_recipients_status"), "campaign_recipients", ["status"])
    op.create_index(
        op.f("idx_campaign_recipients_tracking"), "campaign_recipients", ["tracking_id"]
    )


def downgrade() -> None:
    op.drop_table("campaign_recipients")
