"""Create contacts (spec table 7) with GIN indexes on tags and custom_fields.

The spec comments the values of bounce_type (SOFT, HARD) and source (WEB_FORM, CSV_IMPORT, API,
MANUAL); both become checks like the status enum. NULL stays allowed for both columns.

Revision ID: 010
Revises: 009
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "010"
down_revision: str | None = "009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contacts",
        sa.Column("id", sa.BigInteger(), nullable=False),  # BIGSERIAL
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("email", sa.String(255), nullable=False),
        sa.Column("first_name", sa.String(255), nullable=True),
        sa.Column("last_name", sa.String(255), nullable=True),
        sa.Column("status", sa.String(50), server_default="PENDING", nullable=False),
        sa.Column("email_verified", sa.Boolean(), server_default=sa.false(), nullable=True),
        sa.Column("confirmation_token", sa.String(255), nullable=True),
        sa.Column("confirmation_sent_at", sa.DateTime(), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(), nullable=True),
        sa.Column("unsubscribe_token", sa.String(255), nullable=True),
        sa.Column("unsubscribed_at", sa.DateTime(), nullable=True),
        sa.Column("unsubscribe_reason", sa.Text(), nullable=True),
        sa.Column("bounce_count", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column("last_bounce_at", sa.DateTime(), nullable=True),
        sa.Column("bounce_type", sa.String(50), nullable=True),
        sa.Column("complaint_count", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column("last_complaint_at", sa.DateTime(), nullable=True),
        sa.Column("custom_fields", postgresql.JSONB(), nullable=True),
        sa.Column("gdpr_consent", sa.Boolean(), server_default=sa.false(), nullable=True),
        sa.Column("gdpr_consent_date", sa.DateTime(), nullable=True),
        sa.Column("gdpr_ip_address", sa.String(45), nullable=True),
        sa.Column("source", sa.String(100), nullable=True),
        sa.Column("tags", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("contacts_pkey")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("contacts_user_id_fkey"), ondelete="CASCADE"
        ),
        sa.UniqueConstraint("confirmation_token", name=op.f("contacts_confirmation_token_key")),
        sa.UniqueConstraint("unsubscribe_token", name=op.f("contacts_unsubscribe_token_key")),
        sa.UniqueConstraint("user_id", "email", name=op.f("unique_contact_per_user")),
        sa.CheckConstraint(
            "status IN ('PENDING', 'SUBSCRIBED', 'UNSUBSCRIBED', 'BOUNCED', 'COMPLAINED')",
            name=op.f("ck_contacts_status"),
        ),
        sa.CheckConstraint("bounce_type IN ('SOFT', 'HARD')", name=op.f("ck_contacts_bounce_type")),
        sa.CheckConstraint(
            "source IN ('WEB_FORM', 'CSV_IMPORT', 'API', 'MANUAL')",
            name=op.f("ck_contacts_source"),
        ),
    )
    op.create_index(op.f("idx_contacts_user_id"), "contacts", ["user_id"])
    op.create_index(op.f("idx_contacts_email"), "contacts", ["email"])
    op.create_index(op.f("idx_contacts_status"), "contacts", ["status"])
    op.create_index(op.f("idx_contacts_tags"), "contacts", ["tags"], postgresql_using="gin")
    op.create_index(
        op.f("idx_contacts_custom_fields"), "contacts", ["custom_fields"], postgresql_using="gin"
    )


def downgrade() -> None:
    op.drop_table("contacts")
