"""Add the spec's new email_templates columns, the template_type check and its index.

The spec does not enumerate template_type; its values are CUSTOM (the spec's default),
NEWSLETTER, PROMOTIONAL, TRANSACTIONAL and WELCOME. Defaults and nullability are the spec's ALTER
statements verbatim.

Revision ID: 005
Revises: 004
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "005"
down_revision: str | None = "004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TEMPLATE_TYPES = "'CUSTOM', 'NEWSLETTER', 'PROMOTIONAL', 'TRANSACTIONAL', 'WELCOME'"


def _new_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("template_type", sa.String(50), server_default="CUSTOM", nullable=True),
        sa.Column("is_html", sa.Boolean(), server_default=sa.true(), nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=True),
        sa.Column("preview_text", sa.String(255), nullable=True),
    ]


def upgrade() -> None:
    for column in _new_columns():
        op.add_column("email_templates", column)
    op.create_check_constraint(
        op.f("ck_email_templates_template_type"),
        "email_templates",
        f"template_type IN ({TEMPLATE_TYPES})",
    )
    op.create_index(op.f("idx_email_templates_type"), "email_templates", ["template_type"])


def downgrade() -> None:
    op.drop_index(op.f("idx_email_templates_type"), table_name="email_templates")
    op.drop_constraint(op.f("ck_email_templates_template_type"), "email_templates", type_="check")
    for column in reversed(_new_columns()):
        op.drop_column("email_templates", column.name)
