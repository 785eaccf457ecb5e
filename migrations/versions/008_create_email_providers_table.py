"""Create email_providers (spec table 5) and the email_campaigns.provider_id foreign key.

The foreign key belongs to 006's column; it is added here, once email_providers exists (see 006).
The spec names only the status ACTIVE; the check also allows ERROR (the last send failed, see
last_error/last_error_at) and DISABLED (taken out of rotation by its owner or by failover).

Revision ID: 008
Revises: 007
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "008"
down_revision: str | None = "007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "email_providers",
        sa.Column("id", sa.BigInteger(), nullable=False),  # BIGSERIAL
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("domain_id", sa.BigInteger(), nullable=True),
        sa.Column("provider_type", sa.String(50), nullable=False),
        sa.Column("provider_name", sa.String(255), nullable=False),
        sa.Column("configuration", sa.Text(), nullable=False),  # encrypted JSON
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=True),
        sa.Column("is_default", sa.Boolean(), server_default=sa.false(), nullable=True),
        sa.Column("priority", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column("daily_limit", sa.Integer(), nullable=True),
        sa.Column("monthly_limit", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(50), server_default="ACTIVE", nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", sa.DateTime(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("email_providers_pkey")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("email_providers_user_id_fkey"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["domain_id"],
            ["domains.id"],
            name=op.f("email_providers_domain_id_fkey"),
            ondelete="SET NULL",
        ),
        sa.CheckConstraint(
            "provider_type IN ('AWS_SES', 'SENDGRID', 'SMTP')",
            name=op.f("ck_email_providers_provider_type"),
        ),
        sa.CheckConstraint(
            "status IN ('ACTIVE', 'ERROR', 'DISABLED')", name=op.f("ck_email_providers_status")
        ),
    )
    op.create_index(op.f("idx_email_providers_user_id"), "email_providers", ["user_id"])
    op.create_index(
        op.f("idx_email_providers_active"), "email_providers", ["is_active", "is_default"]
    )
    op.create_index(
        op.f("idx_user_default_provider"),
        "email_providers",
        ["user_id", "is_default"],
        unique=True,
        postgresql_where=sa.text("is_default = TRUE"),
    )
    op.create_foreign_key(
        op.f("email_campaigns_provider_id_fkey"),
        "email_campaigns",
        "email_providers",
        ["provider_id"],
        ["id"],
        ondelete="SET NULL",
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("email_campaigns_provider_id_fkey"), "email_campaigns", type_="foreignkey"
    )
    op.drop_table("email_providers")
