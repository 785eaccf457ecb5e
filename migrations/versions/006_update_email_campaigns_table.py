"""Add the spec's new email_campaigns columns (foreign keys follow with their tables).

The spec's ALTER statements declare domain_id, provider_id, list_id and segment_id as
`REFERENCES` tables that only later migrations create (007 domains, 008 email_providers,
009 contact_lists, 012 segments). This migration adds the four columns as plain nullable BIGINTs;
each foreign key is added by the migration that creates the referenced table, and dropped again by
its downgrade. The spec gives them no ON DELETE action; they are ON DELETE SET NULL, like the
spec's other optional references (email_providers.domain_id, email_logs.*): a campaign's history
outlives the domain, provider, list or segment it was sent with. (Deleting a contact list also
deletes its segments; PostgreSQL re-checks every foreign key of a campaign row updated by the
transaction that inserted it, so delete a list in a later transaction than the campaign's insert.)

Revision ID: 006
Revises: 005
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "006"
down_revision: str | None = "005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _new_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("from_name", sa.String(255), nullable=True),
        sa.Column("from_email", sa.String(255), nullable=True),
        sa.Column("reply_to_email", sa.String(255), nullable=True),
        sa.Column("domain_id", sa.BigInteger(), nullable=True),  # FK in 007
        sa.Column("provider_id", sa.BigInteger(), nullable=True),  # FK in 008
        sa.Column("list_id", sa.BigInteger(), nullable=True),  # FK in 009
        sa.Column("segment_id", sa.BigInteger(), nullable=True),  # FK in 012
        sa.Column("subject_line", sa.String(500), nullable=True),
        sa.Column("preview_text", sa.String(255), nullable=True),
        sa.Column("track_opens", sa.Boolean(), server_default=sa.true(), nullable=True),
        sa.Column("track_clicks", sa.Boolean(), server_default=sa.true(), nullable=True),
        sa.Column("open_rate", sa.Numeric(5, 2), server_default=sa.text("0"), nullable=True),
        sa.Column("click_rate", sa.Numeric(5, 2), server_default=sa.text("0"), nullable=True),
        sa.Column("bounce_rate", sa.Numeric(5, 2), server_default=sa.text("0"), nullable=True),
        sa.Column("unsubscribe_count", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column("complaint_count", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column("send_speed", sa.Integer(), server_default=sa.text("100"), nullable=True),
        sa.Column("retry_failed", sa.Boolean(), server_default=sa.true(), nullable=True),
        sa.Column("max_retries", sa.Integer(), server_default=sa.text("3"), nullable=True),
    ]


def upgrade() -> None:
    for column in _new_columns():
        op.add_column("email_campaigns", column)


def downgrade() -> None:
    for column in reversed(_new_columns()):
        op.drop_column("email_campaigns", column.name)
