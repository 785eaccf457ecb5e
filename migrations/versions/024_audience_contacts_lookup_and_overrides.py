"""Contacts: one per user per address in any case, keyset pages, and recorded status overrides.

- `idx_contacts_user_email_lower`, UNIQUE (user_id, lower(email) text_pattern_ops): the spec's
  `unique_contact_per_user` compares addresses byte for byte, so `Ann@x.org` and `ann@x.org` could
  be two contacts; the API treats them as one. The same index serves the email-prefix filter
  (`lower(email) LIKE 'ann%'`, which needs the pattern operator class) and the batch upsert's
  `ON CONFLICT`. If rows already differ only in case, the upgrade stops and names them: which
  contact to keep is the operator's decision.
- `idx_contacts_user_id_id` (user_id, id): the contacts page is keyset by id within a user, so
  page 10,000 reads as few rows as page 1.
- `idx_memberships_list_contact` (list_id, contact_id): the same for a list's members.
- `contact_status_overrides`: the spec has no record of why a BOUNCED or COMPLAINED contact was
  made SUBSCRIBED (or PENDING) again; the API requires a reason for that move and keeps it here,
  with who and when. Rows go with their contact (erasure removes them too).

Revision ID: 024
Revises: 023
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "024"
down_revision: str | None = "023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = "'PENDING', 'SUBSCRIBED', 'UNSUBSCRIBED', 'BOUNCED', 'COMPLAINED'"


def upgrade() -> None:
    clashes = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT string_agg(email, ', ' ORDER BY id) FROM contacts"
                " GROUP BY user_id, lower(email) HAVING count(*) > 1"
            )
        )
        .scalars()
        .all()
    )
    if clashes:
        raise RuntimeError(
            "contacts of one user whose addresses differ only in case must be merged before "
            "upgrading: " + "; ".join(clashes)
        )
    op.create_index(
        "idx_contacts_user_email_lower",
        "contacts",
        ["user_id", sa.text("lower(email::text) text_pattern_ops")],
        unique=True,
    )
    op.create_index("idx_contacts_user_id_id", "contacts", ["user_id", "id"])
    op.create_index(
        "idx_memberships_list_contact", "contact_list_memberships", ["list_id", "contact_id"]
    )
    op.create_table(
        "contact_status_overrides",
        sa.Column("id", sa.BigInteger(), nullable=False),  # BIGSERIAL
        sa.Column("contact_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("from_status", sa.String(50), nullable=False),
        sa.Column("to_status", sa.String(50), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("contact_status_overrides_pkey")),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("contact_status_overrides_contact_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("contact_status_overrides_user_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            f"from_status IN ({STATUSES})", name=op.f("ck_contact_status_overrides_from_status")
        ),
        sa.CheckConstraint(
            f"to_status IN ({STATUSES})", name=op.f("ck_contact_status_overrides_to_status")
        ),
    )
    op.create_index(
        op.f("idx_contact_status_overrides_contact_id"), "contact_status_overrides", ["contact_id"]
    )


def downgrade() -> None:
    op.drop_table("contact_status_overrides")
    op.drop_index("idx_memberships_list_contact", table_name="contact_list_memberships")
    op.drop_index("idx_contacts_user_id_id", table_name="contacts")
    op.drop_index("idx_contacts_user_email_lower", table_name="contacts")
