"""The outbox (`outbox_messages`), and provider types decided by the installed plugins.

The spec has no place for the outbox provider's messages: the design sends to "a local outbox the
user can inspect" when no provider is configured, and the API must read it back whichever machine
the worker ran on, so it lives in PostgreSQL. Each row keeps one message exactly as it would have
left (the signed MIME bytes), with its recipient, subject, Message-ID, time, owner, and the
campaign and provider it came from (nullable: transactional sends have no campaign; deleting either
keeps the message). Pages are read per user, newest first, by id: hence (user_id, id).

The spec's check on email_providers.provider_type (AWS_SES, SENDGRID, SMTP) is dropped: provider
types are registered by plugins (`register_providers`), the built-in OUTBOX and any third party's
among them, and the API refuses a type no installed plugin registered. Downgrading restores the
check, so it fails while rows of other types exist (deleting them is the operator's decision).

Revision ID: 023
Revises: 022
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "023"
down_revision: str | None = "022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PROVIDER_TYPE_CHECK = "ck_email_providers_provider_type"


def upgrade() -> None:
    op.drop_constraint(op.f(PROVIDER_TYPE_CHECK), "email_providers", type_="check")
    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.BigInteger(), nullable=False),  # BIGSERIAL
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=True),
        sa.Column("provider_id", sa.BigInteger(), nullable=True),
        sa.Column("recipient_email", sa.String(255), nullable=False),
        sa.Column("subject", sa.String(500), nullable=False),
        sa.Column("message_id", sa.String(255), nullable=False),
        sa.Column("raw_message", sa.LargeBinary(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("outbox_messages_pkey")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("outbox_messages_user_id_fkey"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["email_campaigns.id"],
            name=op.f("outbox_messages_campaign_id_fkey"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["email_providers.id"],
            name=op.f("outbox_messages_provider_id_fkey"),
            ondelete="SET NULL",
        ),
    )
    op.create_index(op.f("idx_outbox_messages_user_id"), "outbox_messages", ["user_id", "id"])


def downgrade() -> None:
    op.drop_index(op.f("idx_outbox_messages_user_id"), table_name="outbox_messages")
    op.drop_table("outbox_messages")
    op.create_check_constraint(
        op.f(PROVIDER_TYPE_CHECK),
        "email_providers",
        "provider_type IN ('AWS_SES', 'SENDGRID', 'SMTP')",
    )
