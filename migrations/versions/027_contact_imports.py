"""CSV imports of contacts: `import_jobs`, `import_uploads`, `import_rejections`,
`import_seen_addresses` (none is in the spec).

An import is accepted by one process and run by a worker that may be on another machine, so
everything it needs lives in PostgreSQL, never in a local file:
- `import_jobs`: the job (target list, mode, column mapping, delimiter), its status and counters,
  and what a resumed run needs: the byte offset and line just after the last committed batch
  (written in that batch's transaction, with its counters and the list's counts), and a lease a
  running worker extends (`lease_expires_at`); a job RUNNING with an expired lease is reclaimed.
- `import_uploads`: the uploaded file in chunks of about a MiB (`start_offset` is the chunk's
  first byte in the file), written while the request streams in and read back in order; never
  one huge value. The job's foreign key is deferred so the chunks can be written before the job
  row, which is only complete (mapping, list) once the whole form is read.
- `import_rejections`: the rows that were not imported, by line, with the reason and an excerpt.
- `import_seen_addresses`: the addresses a running job imported with their first line, so a
  duplicate later in the file is rejected naming that line, across batches and after a resume;
  emptied when the job ends.

Revision ID: 027
Revises: 026
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "027"
down_revision: str | None = "026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _counter(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), server_default=sa.text("0"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "import_jobs",
        sa.Column("id", sa.BigInteger(), nullable=False),  # BIGSERIAL
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("list_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(20), server_default="QUEUED", nullable=False),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("mapping", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("delimiter", sa.String(1), nullable=True),
        sa.Column("file_name", sa.String(255), nullable=True),
        _counter("upload_bytes"),
        _counter("rows_read"),
        _counter("inserted"),
        _counter("updated"),
        _counter("skipped"),
        _counter("rejected"),
        sa.Column("error", sa.Text(), nullable=True),
        _counter("committed_offset"),
        _counter("committed_line"),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("lease_expires_at", sa.DateTime(), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False
        ),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('QUEUED', 'RUNNING', 'COMPLETED', 'FAILED')",
            name=op.f("ck_import_jobs_status"),
        ),
        sa.CheckConstraint(
            "mode IN ('subscribe', 'update_only', 'unsubscribe')", name=op.f("ck_import_jobs_mode")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("import_jobs_pkey")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("import_jobs_user_id_fkey"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["contact_lists.id"],
            name=op.f("import_jobs_list_id_fkey"),
            ondelete="CASCADE",
        ),
    )
    op.create_index("idx_import_jobs_user_id_id", "import_jobs", ["user_id", "id"])
    op.create_index("idx_import_jobs_status_lease", "import_jobs", ["status", "lease_expires_at"])
    op.create_index("idx_import_jobs_list_id", "import_jobs", ["list_id"])
    op.create_table(
        "import_uploads",
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("start_offset", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("job_id", "seq", name=op.f("import_uploads_pkey")),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["import_jobs.id"],
            name=op.f("import_uploads_job_id_fkey"),
            ondelete="CASCADE",
            deferrable=True,
            initially="DEFERRED",
        ),
    )
    op.create_table(
        "import_rejections",
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("line_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("excerpt", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("job_id", "line_number", name=op.f("import_rejections_pkey")),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["import_jobs.id"],
            name=op.f("import_rejections_job_id_fkey"),
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "import_seen_addresses",
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("line_number", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("job_id", "address", name=op.f("import_seen_addresses_pkey")),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["import_jobs.id"],
            name=op.f("import_seen_addresses_job_id_fkey"),
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    op.drop_table("import_seen_addresses")
    op.drop_table("import_rejections")
    op.drop_table("import_uploads")
    op.drop_index("idx_import_jobs_list_id", table_name="import_jobs")
    op.drop_index("idx_import_jobs_status_lease", table_name="import_jobs")
    op.drop_index("idx_import_jobs_user_id_id", table_name="import_jobs")
    op.drop_table("import_jobs")
