"""Create contact_lists (spec table 6) and the email_campaigns.list_id foreign key.

The foreign key belongs to 006's column; it is added here, once contact_lists exists (see 006).

Revision ID: 009
Revises: 008
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "009"
down_revision: str | None = "008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contact_lists",
        sa.Column("id", sa.BigInteger(), nullable=False),  # BIGSERIAL
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("total_contacts", sa.Integer(), server_default=sa.text("0"), nullable=True),
        # Cached count of members whose contact status is SUBSCRIBED.
        sa.Column("active_contacts", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column("double_opt_in_enabled", sa.Boolean(), server_default=sa.true(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("contact_lists_pkey")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("contact_lists_user_id_fkey"), ondelete="CASCADE"
        ),
        sa.UniqueConstraint("user_id", "name", name=op.f("unique_list_name_per_user")),
    )
    op.create_index(op.f("idx_contact_lists_user_id"), "contact_lists", ["user_id"])
    op.create_foreign_key(
        op.f("email_campaigns_list_id_fkey"),
        "email_campaigns",
        "contact_lists",
        ["list_id"],
        ["id"],
        ondelete="SET NULL",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("email_campaigns_list_id_fkey"), "email_campaigns", type_="foreignkey")
    op.drop_table("contact_lists")
