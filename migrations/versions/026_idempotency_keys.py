"""Idempotency keys of `POST /api/v1/messages` (`idempotency_keys`; not in the spec).

A client that retries a send (a timeout, a lost answer) must get the first answer and no second
mail, whichever API process answers the retry and after a restart: the keys live in PostgreSQL,
not in a process or in Redis (which may be flushed). One key per user (the unique constraint is
also what makes two concurrent first requests safe: one INSERT wins), the request's SHA-256 (the
same key with another body is refused), and the answer: the email_logs row the first request
created (NULL while it is being answered). Keys expire after a day (`expires_at`, indexed for
the clean-up); an expired key is taken over by the next request that uses it.

Revision 026 is reserved for the messages area; it follows 024 on this branch (025 belongs to
another area and is merged before it).

Revision ID: 026
Revises: 025
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "026"
down_revision: str | None = "025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.BigInteger(), nullable=False),  # BIGSERIAL
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("email_log_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False
        ),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("idempotency_keys_pkey")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("idempotency_keys_user_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["email_log_id"],
            ["email_logs.id"],
            name=op.f("idempotency_keys_email_log_id_fkey"),
            ondelete="SET NULL",
        ),
        sa.UniqueConstraint(
            "user_id", "idempotency_key", name=op.f("uq_idempotency_keys_user_key")
        ),
    )
    op.create_index("idx_idempotency_keys_expires", "idempotency_keys", ["expires_at"])


def downgrade() -> None:
    op.drop_index("idx_idempotency_keys_expires", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
