"""Create contact_list_memberships (spec table 8).

Revision ID: 011
Revises: 010
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "011"
down_revision: str | None = "010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contact_list_memberships",
        sa.Column("id", sa.BigInteger(), nullable=False),  # BIGSERIAL
        sa.Column("contact_id", sa.BigInteger(), nullable=False),
        sa.Column("list_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(50), server_default="ACTIVE", nullable=True),
        sa.Column(
            "subscribed_at",
            sa.DateTime(),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=True,
        ),
        sa.Column("unsubscribed_at", sa.DateTime(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("contact_list_memberships_pkey")),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("contact_list_memberships_contact_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["contact_lists.id"],
            name=op.f("contact_list_memberships_list_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("contact_id", "list_id", name=op.f("unique_contact_list_membership")),
        sa.CheckConstraint(
            "status IN ('ACTIVE', 'REMOVED')", name=op.f("ck_contact_list_memberships_status")
        ),
    )
    op.create_index(op.f("idx_memberships_contact"), "contact_list_memberships", ["contact_id"])
    op.create_index(op.f("idx_memberships_list"), "contact_list_memberships", ["list_id"])
    op.create_index(op.f("idx_memberships_status"), "contact_list_memberships", ["status"])


def downgrade() -> None:
    op.drop_table("contact_list_memberships")
