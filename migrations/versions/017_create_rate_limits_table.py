"""Create rate_limits (spec table 14), the audit trail of rate-limit windows (Redis enforces).

Revision ID: 017
Revises: 016
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "017"
down_revision: str | None = "016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_limits",
        sa.Column("id", sa.BigInteger(), nullable=False),  # BIGSERIAL
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("resource_type", sa.String(50), nullable=False),
        sa.Column("window_start", sa.DateTime(), nullable=False),
        sa.Column("window_end", sa.DateTime(), nullable=False),
        sa.Column("request_count", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column("limit_value", sa.Integer(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("rate_limits_pkey")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("rate_limits_user_id_fkey"), ondelete="CASCADE"
        ),
        sa.UniqueConstraint(
            "user_id", "resource_type", "window_start", name=op.f("unique_rate_limit_window")
        ),
        sa.CheckConstraint(
            "resource_type IN ('API_REQUEST', 'EMAIL_SEND', 'SUBSCRIPTION')",
            name=op.f("ck_rate_limits_resource_type"),
        ),
    )
    op.create_index(
        op.f("idx_rate_limits_user_resource"),
        "rate_limits",
        ["user_id", "resource_type", "window_end"],
    )


def downgrade() -> None:
    op.drop_table("rate_limits")
