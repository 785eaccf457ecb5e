"""Create email_campaigns with the spec's "current columns" (spec table 3, first part).

created_at/updated_at get `DEFAULT CURRENT_TIMESTAMP` (see 001). The spec gives no ON DELETE
actions here; the choices:
- created_by -> users ON DELETE CASCADE: erasing a user removes the user's campaigns.
- template_id -> email_templates ON DELETE RESTRICT: a template in use by a campaign cannot be
  deleted by accident (archived campaigns keep only the id, see 020). When a user is erased the
  user's campaigns and templates go in the same statement, which RESTRICT allows.

Revision ID: 003
Revises: 002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "003"
down_revision: str | None = "002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = "'DRAFT', 'SCHEDULED', 'SENDING', 'SENT', 'PAUSED', 'CANCELLED', 'FAILED'"


def upgrade() -> None:
    op.create_table(
        "email_campaigns",
        sa.Column("id", sa.BigInteger(), nullable=False),  # BIGSERIAL
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("template_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(50), server_default="DRAFT", nullable=False),
        sa.Column("scheduled_at", sa.DateTime(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("total_recipients", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column("sent_count", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column("failed_count", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("email_campaigns_pkey")),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["email_templates.id"],
            name=op.f("email_campaigns_template_id_fkey"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("email_campaigns_created_by_fkey"),
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(f"status IN ({STATUSES})", name=op.f("ck_email_campaigns_status")),
    )
    op.create_index(op.f("idx_email_campaigns_status"), "email_campaigns", ["status"])
    op.create_index(op.f("idx_email_campaigns_created_by"), "email_campaigns", ["created_by"])
    op.create_index(op.f("idx_email_campaigns_scheduled_at"), "email_campaigns", ["scheduled_at"])


def downgrade() -> None:
    op.drop_table("email_campaigns")
