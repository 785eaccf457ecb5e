"""The tracking key and the link index (neither in the spec).

- `tracking_keys`: one row, the installation's random 32-byte key that signs the open pixel,
  click and unsubscribe/preferences tokens written into campaign mail (`sender_rs` signs and
  verifies opens and clicks with it; `core/campaigns/tokens.py` the unsubscribe links). Sealed
  under OPENMAILER_SECRET_KEYS like every secret at rest, so `openmailer keys rotate`
  re-encrypts it; NOT derived from those keys, since rotating them would then break every link
  in every mail already delivered.
- `campaign_links.link_index`: the index `sender_rs` gives each tracked link when it compiles the
  campaign's template; the click token carries (tracking id, link index), so the redirect finds
  the recorded URL by (campaign, index) — one unique index — and never takes a URL from the
  request.

Revision ID: 030
Revises: 029
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "030"
down_revision: str | None = "029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tracking_keys",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("sealed_key", sa.Text(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("tracking_keys_pkey")),
        # One installation, one tracking key.
        sa.CheckConstraint("id = 1", name=op.f("ck_tracking_keys_id")),
    )
    op.add_column("campaign_links", sa.Column("link_index", sa.Integer(), nullable=False))
    op.create_index(
        "idx_campaign_links_campaign_index",
        "campaign_links",
        ["campaign_id", "link_index"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("idx_campaign_links_campaign_index", table_name="campaign_links")
    op.drop_column("campaign_links", "link_index")
    op.drop_table("tracking_keys")
