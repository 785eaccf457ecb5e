"""Public subscription forms of lists (neither column is in the spec).

- `contact_lists.public_id`: the list's id in the URL of its public form (`/f/{public_id}`),
  122 random bits (PostgreSQL's `gen_random_uuid()`, a strong random source, without the
  dashes). The list's own id is a sequence: put in a public URL it would let anyone walk every
  user's lists, read their names and their owners' names, and sign addresses up to them; a
  random id is known only to the owner and to whoever the owner shows the form to. Existing lists
  get theirs from the column's default.
- `contact_lists.form_fields`: the names of the custom fields the form asks for (besides the
  address and the names), in order; stored in the contact's `custom_fields` under those names.

Revision ID: 034
Revises: 033
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "034"
down_revision: str | None = "033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RANDOM_PUBLIC_ID = "replace((gen_random_uuid())::text, '-'::text, ''::text)"


def upgrade() -> None:
    op.add_column(
        "contact_lists",
        sa.Column(
            "public_id",
            sa.String(length=32),
            server_default=sa.text(RANDOM_PUBLIC_ID),
            nullable=False,
        ),
    )
    op.create_index("idx_contact_lists_public_id", "contact_lists", ["public_id"], unique=True)
    op.add_column(
        "contact_lists",
        sa.Column(
            "form_fields",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
    )


def downgrade() -> None:
    op.drop_column("contact_lists", "form_fields")
    op.drop_index("idx_contact_lists_public_id", table_name="contact_lists")
    op.drop_column("contact_lists", "public_id")
