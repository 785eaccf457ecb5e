"""Create api_keys (spec table 13).

scopes is checked against the spec's list of available scopes (`scopes <@ ARRAY[...]`): every
element must be a known scope; NULL and the empty array pass.

Revision ID: 016
Revises: 015
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "016"
down_revision: str | None = "015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCOPES = (
    "'read:contacts', 'write:contacts', 'read:campaigns', 'write:campaigns', 'send:campaigns', "
    "'read:templates', 'write:templates', 'read:analytics'"
)


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.BigInteger(), nullable=False),  # BIGSERIAL
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("key_name", sa.String(255), nullable=False),
        sa.Column("api_key", sa.String(64), nullable=False),  # SHA-256 hex of the key
        sa.Column("key_prefix", sa.String(10), nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=True),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("api_keys_pkey")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("api_keys_user_id_fkey"), ondelete="CASCADE"
        ),
        sa.UniqueConstraint("api_key", name=op.f("api_keys_api_key_key")),
        sa.CheckConstraint(f"scopes <@ ARRAY[{SCOPES}]::text[]", name=op.f("ck_api_keys_scopes")),
    )
    op.create_index(op.f("idx_api_keys_user_id"), "api_keys", ["user_id"])
    op.create_index(op.f("idx_api_keys_key"), "api_keys", ["api_key"])
    op.create_index(op.f("idx_api_keys_active"), "api_keys", ["is_active"])


def downgrade() -> None:
    op.drop_table("api_keys")
