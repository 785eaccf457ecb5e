"""Add the spec's new users columns, their enum checks and the role/account_status indexes.

Defaults and nullability are the spec's ALTER statements verbatim (so subscription_plan,
api_enabled and the counters are nullable). idx_users_account_status is not in the users section
of the spec but in its "Indexes strategy" (status column indexes).

Revision ID: 004
Revises: 003
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "004"
down_revision: str | None = "003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHECKS = {
    "ck_users_role": "role IN ('USER', 'ADMIN')",
    "ck_users_account_status": "account_status IN ('ACTIVE', 'SUSPENDED', 'TRIAL', 'EXPIRED')",
    "ck_users_subscription_plan": "subscription_plan IN ('FREE', 'BASIC', 'PRO', 'ENTERPRISE')",
}


def _new_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("role", sa.String(50), server_default="USER", nullable=False),
        sa.Column("account_status", sa.String(50), server_default="ACTIVE", nullable=False),
        sa.Column("subscription_plan", sa.String(50), server_default="FREE", nullable=True),
        sa.Column("subscription_expires_at", sa.DateTime(), nullable=True),
        sa.Column("api_enabled", sa.Boolean(), server_default=sa.true(), nullable=True),
        sa.Column(
            "monthly_email_limit", sa.Integer(), server_default=sa.text("1000"), nullable=True
        ),
        sa.Column("monthly_emails_sent", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column("last_login_at", sa.DateTime(), nullable=True),
        sa.Column("last_login_ip", sa.String(45), nullable=True),
        sa.Column(
            "failed_login_attempts", sa.Integer(), server_default=sa.text("0"), nullable=True
        ),
        sa.Column("account_locked_until", sa.DateTime(), nullable=True),
        sa.Column("two_factor_enabled", sa.Boolean(), server_default=sa.false(), nullable=True),
        sa.Column("two_factor_secret", sa.String(255), nullable=True),
    ]


def upgrade() -> None:
    for column in _new_columns():
        op.add_column("users", column)
    for name, condition in CHECKS.items():
        op.create_check_constraint(op.f(name), "users", condition)
    op.create_index(op.f("idx_users_role"), "users", ["role"])
    op.create_index(op.f("idx_users_account_status"), "users", ["account_status"])


def downgrade() -> None:
    op.drop_index(op.f("idx_users_account_status"), table_name="users")
    op.drop_index(op.f("idx_users_role"), table_name="users")
    for name in CHECKS:
        op.drop_constraint(op.f(name), "users", type_="check")
    for column in reversed(_new_columns()):
        op.drop_column("users", column.name)
