"""The month `users.monthly_emails_sent` counts for (not in the spec).

`monthly_emails_month` (DATE, the month's first day, UTC) exists so that the spec's monthly
reset of `monthly_emails_sent` cannot wipe sends: without it the reset at 02:00 on the 1st (or
later, when no scheduler was up, or twice after Redis forgot the slot) would zero what was sent
since midnight. The send paths count afresh when a take falls in a later month than this one
(adapters/db/monthly_quota.py), and the reset zeroes only counts of an earlier month.

Existing users' counts are dated to the month of the upgrade (they were counted in it, or the
reset is still due). NULL: no send since the column exists.

The number is 038 because 037 is another change's; at the merge this revision follows 037.

Revision ID: 038
Revises: 037
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "038"
down_revision: str | None = "037"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("monthly_emails_month", sa.Date()))
    op.execute(
        "UPDATE users SET monthly_emails_month"
        " = CAST(date_trunc('month', timezone('UTC', now())) AS date)"
    )


def downgrade() -> None:
    op.drop_column("users", "monthly_emails_month")
