"""Create email_templates with the spec's "current columns" (spec table 2, first part).

created_at/updated_at get `DEFAULT CURRENT_TIMESTAMP` (see 001). The spec gives created_by no
ON DELETE action; it is CASCADE so that erasing a user (GDPR, tenancy deletion) removes the
user's templates with them.

Revision ID: 002
Revises: 001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "002"
down_revision: str | None = "001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "email_templates",
        sa.Column("id", sa.BigInteger(), nullable=False),  # BIGSERIAL
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("subject", sa.String(500), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("email_templates_pkey")),
        sa.UniqueConstraint("name", name=op.f("email_templates_name_key")),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("email_templates_created_by_fkey"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(op.f("idx_email_templates_name"), "email_templates", ["name"])
    op.create_index(op.f("idx_email_templates_created_by"), "email_templates", ["created_by"])


def downgrade() -> None:
    op.drop_table("email_templates")
