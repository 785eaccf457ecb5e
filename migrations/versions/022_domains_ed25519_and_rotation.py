"""Domains: the ownership token's check, the Ed25519 key and a DKIM rotation's pending keys.

The spec's domains table holds one RSA key and no record of the verification token's check. Dual
signing (RSA + Ed25519, RFC 8463) needs the second key; a rotation signs with the old key set
until the new set's records verify, so the new set waits in the `dkim_pending_*` columns. Private
keys are sealed (AES-256-GCM) like `dkim_private_key`.

Revision ID: 022
Revises: 021
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "022"
down_revision: str | None = "021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TEXT_COLUMNS = (
    "dkim_ed25519_public_key",
    "dkim_ed25519_private_key",
    "dkim_pending_public_key",
    "dkim_pending_private_key",
    "dkim_pending_ed25519_public_key",
    "dkim_pending_ed25519_private_key",
)


def upgrade() -> None:
    op.add_column(
        "domains",
        sa.Column("ownership_verified", sa.Boolean(), server_default=sa.false(), nullable=True),
    )
    op.add_column("domains", sa.Column("ownership_last_checked_at", sa.DateTime(), nullable=True))
    op.add_column("domains", sa.Column("dkim_pending_selector", sa.String(100), nullable=True))
    for name in TEXT_COLUMNS:
        op.add_column("domains", sa.Column(name, sa.Text(), nullable=True))


def downgrade() -> None:
    for name in (
        *reversed(TEXT_COLUMNS),
        "dkim_pending_selector",
        "ownership_last_checked_at",
        "ownership_verified",
    ):
        op.drop_column("domains", name)
