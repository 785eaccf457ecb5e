"""Create domains (spec table 4) and the email_campaigns.domain_id foreign key.

The foreign key belongs to 006's column; it is added here, once domains exists (see 006).

Revision ID: 007
Revises: 006
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "007"
down_revision: str | None = "006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "domains",
        sa.Column("id", sa.BigInteger(), nullable=False),  # BIGSERIAL
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("domain_name", sa.String(255), nullable=False),
        sa.Column("status", sa.String(50), server_default="PENDING", nullable=False),
        sa.Column("spf_record", sa.Text(), nullable=True),
        sa.Column("spf_verified", sa.Boolean(), server_default=sa.false(), nullable=True),
        sa.Column("spf_last_checked_at", sa.DateTime(), nullable=True),
        sa.Column("dkim_selector", sa.String(100), server_default="openmailer", nullable=True),
        sa.Column("dkim_public_key", sa.Text(), nullable=True),
        sa.Column("dkim_private_key", sa.Text(), nullable=True),  # AES-256 encrypted
        sa.Column("dkim_verified", sa.Boolean(), server_default=sa.false(), nullable=True),
        sa.Column("dkim_last_checked_at", sa.DateTime(), nullable=True),
        sa.Column("dmarc_record", sa.Text(), nullable=True),
        sa.Column("dmarc_verified", sa.Boolean(), server_default=sa.false(), nullable=True),
        sa.Column("dmarc_last_checked_at", sa.DateTime(), nullable=True),
        sa.Column("verification_token", sa.String(255), nullable=True),
        sa.Column("verified_at", sa.DateTime(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("domains_pkey")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("domains_user_id_fkey"), ondelete="CASCADE"
        ),
        sa.UniqueConstraint("domain_name", name=op.f("domains_domain_name_key")),
        sa.UniqueConstraint("verification_token", name=op.f("domains_verification_token_key")),
        sa.UniqueConstraint("user_id", "domain_name", name=op.f("idx_domains_user_id_unique")),
        sa.CheckConstraint(
            "status IN ('PENDING', 'VERIFIED', 'FAILED', 'SUSPENDED')",
            name=op.f("ck_domains_status"),
        ),
    )
    op.create_index(op.f("idx_domains_user_id"), "domains", ["user_id"])
    op.create_index(op.f("idx_domains_status"), "domains", ["status"])
    op.create_index(op.f("idx_domains_domain_name"), "domains", ["domain_name"])
    op.create_foreign_key(
        op.f("email_campaigns_domain_id_fkey"),
        "email_campaigns",
        "domains",
        ["domain_id"],
        ["id"],
        ondelete="SET NULL",
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("email_campaigns_domain_id_fkey"), "email_campaigns", type_="foreignkey"
    )
    op.drop_table("domains")
