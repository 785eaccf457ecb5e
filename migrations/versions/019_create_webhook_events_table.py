"""Create webhook_events (spec table 16).

Revision ID: 019
Revises: 018
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "019"
down_revision: str | None = "018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EVENT_TYPES = "'DELIVERED', 'BOUNCED', 'OPENED', 'CLICKED', 'COMPLAINED', 'UNSUBSCRIBED'"


def upgrade() -> None:
    op.create_table(
        "webhook_events",
        sa.Column("id", sa.BigInteger(), nullable=False),  # BIGSERIAL
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("provider_id", sa.BigInteger(), nullable=True),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("provider_event_id", sa.String(255), nullable=True),
        sa.Column("payload", postgresql.JSONB(), nullable=False),
        sa.Column("processed", sa.Boolean(), server_default=sa.false(), nullable=True),
        sa.Column("processed_at", sa.DateTime(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("webhook_events_pkey")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("webhook_events_user_id_fkey"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["email_providers.id"],
            name=op.f("webhook_events_provider_id_fkey"),
            ondelete="SET NULL",
        ),
        sa.CheckConstraint(
            f"event_type IN ({EVENT_TYPES})", name=op.f("ck_webhook_events_event_type")
        ),
    )
    op.create_index(op.f("idx_webhook_events_user"), "webhook_events", ["user_id"])
    op.create_index(op.f("idx_webhook_events_type"), "webhook_events", ["event_type"])
    op.create_index(op.f("idx_webhook_events_processed"), "webhook_events", ["processed"])
    op.create_index(
        op.f("idx_webhook_events_provider_event"), "webhook_events", ["provider_event_id"]
    )


def downgrade() -> None:
    op.drop_table("webhook_events")
