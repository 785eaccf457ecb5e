"""The send path's bookkeeping on campaign recipients and campaigns (none of it in the spec).

- `campaign_recipients.lease_expires_at`: a worker claims a batch (PENDING -> SENDING) with a
  lease committed before any provider call; a row still SENDING after its lease is one whose
  worker died mid-send, and the reconciler puts it back to PENDING. The value doubles as the
  claim's token: a worker writes its results only to the rows whose lease is still the one it
  took, so a batch reclaimed and taken by another worker is never written twice.
- `campaign_recipients.next_attempt_at`: the backoff of a transient failure (the row is PENDING
  again but not claimable before then).
- `campaign_recipients.possible_duplicate`: set when an expired lease is reclaimed. Its worker
  may have handed the message to the provider before it died, so the next send may be a second
  copy (with the same Message-ID); the row says so instead of pretending exactly-once.
- `campaign_recipients.failure`: why a FAILED row failed (`transient`: retries exhausted,
  `permanent`: refused, `ambiguous`: the provider may have accepted it, never re-sent,
  `render`, `skipped`: the contact was no longer subscribed at claim time), so
  `retry-failed` re-queues exactly the transient ones.
- `email_campaigns.outbox_only`: a campaign created or started with an `om_test_` key sends to
  the outbox only. The worker has no caller to ask, so the campaign carries the rule.
- a partial index over the rows still to send (PENDING or SENDING) per campaign: the claim, the
  completion check and the reconciler read only those, however many rows are already sent.

Revision ID: 035
Revises: 034
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "035"
down_revision: str | None = "034"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("campaign_recipients", sa.Column("lease_expires_at", sa.DateTime()))
    op.add_column("campaign_recipients", sa.Column("next_attempt_at", sa.DateTime()))
    op.add_column(
        "campaign_recipients",
        sa.Column("possible_duplicate", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column("campaign_recipients", sa.Column("failure", sa.String(20)))
    op.add_column(
        "email_campaigns",
        sa.Column("outbox_only", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.create_index(
        "idx_campaign_recipients_unsent",
        "campaign_recipients",
        ["campaign_id", "id"],
        postgresql_where=sa.text("status IN ('PENDING', 'SENDING')"),
    )


def downgrade() -> None:
    op.drop_index("idx_campaign_recipients_unsent", table_name="campaign_recipients")
    op.drop_column("email_campaigns", "outbox_only")
    op.drop_column("campaign_recipients", "failure")
    op.drop_column("campaign_recipients", "possible_duplicate")
    op.drop_column("campaign_recipients", "next_attempt_at")
    op.drop_column("campaign_recipients", "lease_expires_at")
