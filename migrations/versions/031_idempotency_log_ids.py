"""Every message an idempotent transactional request answered (`idempotency_keys.email_log_ids`).

`POST /api/v1/messages` takes one recipient or a small list (up to 50, one message each); a
retry with the same Idempotency-Key must answer all of them, so the key records every
email_logs id, in order. `email_log_id` keeps the first (and NULL there still means the first
request is being answered); keys completed before this revision hold only that one id. No
foreign key on array elements: a log row deleted by the retention job simply drops out of
the replayed answer.

Revision ID: 031
Revises: 030
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "031"
down_revision: str | None = "030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "idempotency_keys",
        sa.Column("email_log_ids", postgresql.ARRAY(sa.BigInteger()), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("idempotency_keys", "email_log_ids")
