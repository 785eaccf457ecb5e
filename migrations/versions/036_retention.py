"""Retention (neither table is in the spec, whose "Configurable Policies" need somewhere to live).

- `user_retention_settings`: the spec's three per-user choices (campaign reports 1y/2y/forever,
  detailed click logs 30d/90d/1y, contact history 1y/3y/forever). A user without a row has the
  defaults, so existing users need no backfill and the jobs read one LEFT JOIN.
- `retention_runs`: what each run of a retention job did (rows per table, seconds, the error of
  a failed run), so an operator can see that the 03:00 job ran and what it removed.

Revision ID: 036
Revises: 035
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "036"
down_revision: str | None = "035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


CHOICES = {
    "campaign_reports": (("1y", "2y", "forever"), "2y"),
    "click_logs": (("30d", "90d", "1y"), "90d"),
    "contact_history": (("1y", "3y", "forever"), "forever"),
}


def upgrade() -> None:
    op.create_table(
        "user_retention_settings",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        *(
            sa.Column(column, sa.String(16), server_default=default, nullable=False)
            for column, (_, default) in CHOICES.items()
        ),
        sa.Column(
            "updated_at", sa.DateTime(), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False
        ),
        *(
            sa.CheckConstraint(
                f"{column} IN ({', '.join(repr(value) for value in values)})",
                name=op.f(f"ck_user_retention_settings_{column}"),
            )
            for column, (values, _) in CHOICES.items()
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("user_retention_settings_user_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("user_retention_settings_pkey")),
    )
    op.create_table(
        "retention_runs",
        sa.Column("id", sa.BigInteger(), nullable=False),  # BIGSERIAL
        sa.Column("job", sa.String(64), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("rows", postgresql.JSONB(), nullable=False),
        sa.Column("error", sa.Text()),
        sa.PrimaryKeyConstraint("id", name=op.f("retention_runs_pkey")),
    )
    op.create_index("idx_retention_runs_job_started", "retention_runs", ["job", "started_at"])


def downgrade() -> None:
    op.drop_index("idx_retention_runs_job_started", table_name="retention_runs")
    op.drop_table("retention_runs")
    op.drop_table("user_retention_settings")
