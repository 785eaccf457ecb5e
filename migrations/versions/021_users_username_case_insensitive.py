"""Usernames are unique regardless of case: a unique index on lower(username).

Logins compare usernames in lower case and new usernames are stored in lower case, so two rows
that differ only in case (`caseuser`, `CaseUser`) would make a login ambiguous. The index is also
what that lookup uses. Rows written before this revision keep their spelling; if some already
differ only in case, the upgrade stops and names them, since which account to rename is the
operator's decision, not a migration's.

Revision ID: 021
Revises: 020
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "021"
down_revision: str | None = "020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "idx_users_username_lower"


def upgrade() -> None:
    clashes = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT string_agg(username, ', ' ORDER BY id) AS spellings FROM users"
                " GROUP BY lower(username) HAVING count(*) > 1"
            )
        )
        .scalars()
        .all()
    )
    if clashes:
        raise RuntimeError(
            "usernames that differ only in case must be renamed before upgrading: "
            + "; ".join(clashes)
        )
    op.create_index(INDEX, "users", [sa.text("lower(username)")], unique=True)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="users")
