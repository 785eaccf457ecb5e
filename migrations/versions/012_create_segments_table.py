"""Create segments (spec table 9) and the email_campaigns.segment_id foreign key.

The foreign key belongs to 006's column; it is added here, once segments exists (see 006).
idx_segments_conditions is the GIN index the spec's "Indexes strategy" asks for on
segments.conditions (the table's own section does not list it).

Revision ID: 012
Revises: 011
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "012"
down_revision: str | None = "011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "segments",
        sa.Column("id", sa.BigInteger(), nullable=False),  # BIGSERIAL
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("list_id", sa.BigInteger(), nullable=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("conditions", postgresql.JSONB(), nullable=False),
        sa.Column("is_dynamic", sa.Boolean(), server_default=sa.true(), nullable=True),
        sa.Column("cached_count", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column("last_calculated_at", sa.DateTime(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("segments_pkey")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("segments_user_id_fkey"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["contact_lists.id"],
            name=op.f("segments_list_id_fkey"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(op.f("idx_segments_user_id"), "segments", ["user_id"])
    op.create_index(op.f("idx_segments_list_id"), "segments", ["list_id"])
    op.create_index(
        op.f("idx_segments_conditions"), "segments", ["conditions"], postgresql_using="gin"
    )
    op.create_foreign_key(
        op.f("email_campaigns_segment_id_fkey"),
        "email_campaigns",
        "segments",
        ["segment_id"],
        ["id"],
        ondelete="SET NULL",
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("email_campaigns_segment_id_fkey"), "email_campaigns", type_="foreignkey"
    )
    op.drop_table("segments")
