"""The template version a campaign sends (`email_campaigns.template_version`; not in the spec).

Templates are versioned (an edit makes version N+1, issue 11): a campaign records, when its
recipients are materialised at start, the version it sends, so an edit of the template during
a send changes nothing already started and the statistics name the content that went out.
NULL until the campaign starts. The archive mirrors the live table's columns, so it gets the
column too (the retention job copies rows across).

Revision 029 is reserved for the campaigns area; it follows 026 on this branch (027 and 028
belong to other areas; the lead renumbers the chain at merge).

Revision ID: 029
Revises: 026
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "029"
down_revision: str | None = "028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("email_campaigns", "email_campaigns_archive")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("template_version", sa.Integer(), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        op.drop_column(table, "template_version")
