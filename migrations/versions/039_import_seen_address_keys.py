"""Import duplicates found by a bigint key: `import_seen_addresses` is keyed by
`(job_id, address_key, line_number)`, where `address_key` is PostgreSQL's 64-bit
`hashtextextended` of the lower-cased address, instead of the address text itself.

Every batch of a large import adds 50,000 rows to this table and probes it 50,000 times; a
text primary key made that about a seventh of the batch's time. A bigint key is cheaper to
compare and to keep in order. Two addresses may share a key (rarely): the address is kept
beside it and compared too, and the line number completes the primary key, so a collision
costs a comparison, never a missed or a false duplicate. A job's rows are still dropped when
the job ends; a running job's rows get their key here, so it resumes finding the same
duplicates.

Revision ID: 039
Revises: 038
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "039"
down_revision: str | None = "038"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_constraint("import_seen_addresses_pkey", "import_seen_addresses", type_="primary")
    op.add_column("import_seen_addresses", sa.Column("address_key", sa.BigInteger()))
    op.execute("UPDATE import_seen_addresses SET address_key = hashtextextended(address, 0)")
    op.alter_column("import_seen_addresses", "address_key", nullable=False)
    op.create_primary_key(
        "import_seen_addresses_pkey",
        "import_seen_addresses",
        ["job_id", "address_key", "line_number"],
    )


def downgrade() -> None:
    op.drop_constraint("import_seen_addresses_pkey", "import_seen_addresses", type_="primary")
    op.drop_column("import_seen_addresses", "address_key")
    op.create_primary_key(
        "import_seen_addresses_pkey", "import_seen_addresses", ["job_id", "address"]
    )
