"""Create email_logs (spec table 15).

Revision ID: 018
Revises: 017
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "018"
down_revision: str | None = "017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "email_logs",
        sa.Column("id", sa.BigInteger(), nullable=False),  # BIGSERIAL
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=True),
        sa.Column("recipient_id", sa.BigInteger(), nullable=True),
        sa.Column("provider_id", sa.BigInteger(), nullable=True),
        sa.Column("email_type", sa.String(50), nullable=False),
        sa.Column("recipient_email", sa.String(255), nullable=False),
        sa.Column("subject", sa.String(500), nullable=True),
        sa.Column("status", sa.String(50), nullable=False),
        sa.Column("provider_message_id", sa.String(255), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("email_logs_pkey")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("email_logs_user_id_fkey"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["email_campaigns.id"],
            name=op.f("email_logs_campaign_id_fkey"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["campaign_recipients.id"],
            name=op.f("email_logs_recipient_id_fkey"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["email_providers.id"],
            name=op.f("email_logs_provider_id_fkey"),
            ondelete="SET NULL",
        ),
        sa.CheckConstraint(
            "email_type IN ('CAMPAIGN', 'TRANSACTIONAL', 'CONFIRMATION')",
            name=op.f("ck_email_logs_email_type"),
        ),
        sa.CheckConstraint(
            "status IN ('QUEUED', 'SENT', 'DELIVERED', 'BOUNCED', 'FAILED')",
            name=op.f("ck_email_logs_status"),
        ),
    )
    op.create_index(op.f("idx_email_logs_user_id"), "email_logs", ["user_id"])
    op.create_index(op.f("idx_email_logs_campaign"), "email_logs", ["campaign_id"])
    op.create_index(op.f("idx_email_logs_status"), "email_logs", ["status"])
    op.create_index(op.f("idx_email_logs_created"), "email_logs", ["created_at"])
    op.create_index(op.f("idx_email_logs_provider_message"), "email_logs", ["provider_message_id"])


def downgrade() -> None:
    op.drop_table("email_logs")
