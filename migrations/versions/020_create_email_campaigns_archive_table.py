"""Create email_campaigns_archive, the spec's 17th table (not part of its migration sequence).

The spec counts 17 tables but describes 16; its retention rules move campaigns older than two
years "to archive table". The archive has the columns of email_campaigns (types, defaults,
nullability and the status check alike, so `INSERT INTO email_campaigns_archive (...) SELECT ...
FROM email_campaigns` copies rows unchanged) plus archived_at. Differences, on purpose:
- id is a plain BIGINT primary key without a sequence: a row keeps its campaign's id.
- template_id, created_by, domain_id, provider_id, list_id and segment_id are plain BIGINTs
  without foreign keys, so archived rows never block deleting what they once referenced.
- the only index is on created_by (the owner's history); erasing a user must delete their
  archived campaigns explicitly, since no cascade reaches this table.

Revision ID: 020
Revises: 019
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "020"
down_revision: str | None = "019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = "'DRAFT', 'SCHEDULED', 'SENDING', 'SENT', 'PAUSED', 'CANCELLED', 'FAILED'"


def upgrade() -> None:
    op.create_table(
        "email_campaigns_archive",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
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
        sa.Column("from_name", sa.String(255), nullable=True),
        sa.Column("from_email", sa.String(255), nullable=True),
        sa.Column("reply_to_email", sa.String(255), nullable=True),
        sa.Column("domain_id", sa.BigInteger(), nullable=True),
        sa.Column("provider_id", sa.BigInteger(), nullable=True),
        sa.Column("list_id", sa.BigInteger(), nullable=True),
        sa.Column("segment_id", sa.BigInteger(), nullable=True),
        sa.Column("subject_line", sa.String(500), nullable=True),
        sa.Column("preview_text", sa.String(255), nullable=True),
        sa.Column("track_opens", sa.Boolean(), server_default=sa.true(), nullable=True),
        sa.Column("track_clicks", sa.Boolean(), server_default=sa.true(), nullable=True),
        sa.Column("open_rate", sa.Numeric(5, 2), server_default=sa.text("0"), nullable=True),
        sa.Column("click_rate", sa.Numeric(5, 2), server_default=sa.text("0"), nullable=True),
        sa.Column("bounce_rate", sa.Numeric(5, 2), server_default=sa.text("0"), nullable=True),
        sa.Column("unsubscribe_count", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column("complaint_count", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column("send_speed", sa.Integer(), server_default=sa.text("100"), nullable=True),
        sa.Column("retry_failed", sa.Boolean(), server_default=sa.true(), nullable=True),
        sa.Column("max_retries", sa.Integer(), server_default=sa.text("3"), nullable=True),
        sa.Column(
            "archived_at",
            sa.DateTime(),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("email_campaigns_archive_pkey")),
        sa.CheckConstraint(
            f"status IN ({STATUSES})", name=op.f("ck_email_campaigns_archive_status")
        ),
    )
    op.create_index(
        op.f("idx_email_campaigns_archive_created_by"), "email_campaigns_archive", ["created_by"]
    )


def downgrade() -> None:
    op.drop_table("email_campaigns_archive")
