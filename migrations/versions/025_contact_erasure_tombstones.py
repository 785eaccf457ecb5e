"""GDPR erasure: keyed-hash tombstones of erased addresses, and the key they are hashed under.

- `erased_contacts`: one row per erasure (when, which user, which contact id) with the
  HMAC-SHA256 of the erased address (lower-cased, as contacts compare addresses), never the
  address. Creating, upserting or signing up that address again for that user is refused. The
  row is also the anonymised audit trail of the erasure; keeping it 7 years is the operations
  (retention) job's concern. `idx_erased_contacts_user_hash` serves the refusal check.
- `erasure_keys`: one row, the random 32-byte HMAC key, sealed under OPENMAILER_SECRET_KEYS
  like every other secret at rest (so `openmailer keys rotate` re-encrypts it). The hash key
  is NOT derived from the newest secret key: rotating those keys would then change every
  address's hash and silently forget all tombstones. A dedicated random key that only its
  envelope rotates keeps them.

Revision ID: 025
Revises: 024
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "025"
down_revision: str | None = "024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "erasure_keys",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("sealed_key", sa.Text(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("erasure_keys_pkey")),
        # One installation, one hash key.
        sa.CheckConstraint("id = 1", name=op.f("ck_erasure_keys_id")),
    )
    op.create_table(
        "erased_contacts",
        sa.Column("id", sa.BigInteger(), nullable=False),  # BIGSERIAL
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("contact_id", sa.BigInteger(), nullable=False),
        sa.Column("address_hash", sa.LargeBinary(), nullable=False),
        sa.Column(
            "erased_at", sa.DateTime(), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("erased_contacts_pkey")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("erased_contacts_user_id_fkey"),
            ondelete="CASCADE",
        ),
    )
    op.create_index("idx_erased_contacts_user_hash", "erased_contacts", ["user_id", "address_hash"])


def downgrade() -> None:
    op.drop_table("erased_contacts")
    op.drop_table("erasure_keys")
