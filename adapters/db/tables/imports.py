"""CSV imports (not in the spec; migration 027): the job, its upload, its rejected rows, and the
addresses it has seen (duplicates inside one file are found across batches and after a resume)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from openmailer.adapters.db.base import Base, enum_check, integer_default, timestamp_now_column

IMPORT_STATUSES = ("QUEUED", "RUNNING", "COMPLETED", "FAILED")
IMPORT_MODES = ("subscribe", "update_only", "unsubscribe")


def _counter() -> Mapped[int]:
    return mapped_column(BigInteger, nullable=False, server_default=integer_default(0))


class ImportJob(Base):
    __tablename__ = "import_jobs"
    __table_args__ = (
        enum_check("status", IMPORT_STATUSES),
        enum_check("mode", IMPORT_MODES),
        Index("idx_import_jobs_user_id_id", "user_id", "id"),
        Index("idx_import_jobs_status_lease", "status", "lease_expires_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    list_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("contact_lists.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(20), server_default="QUEUED")
    mode: Mapped[str] = mapped_column(String(20))
    mapping: Mapped[dict[str, Any]] = mapped_column(JSONB)
    delimiter: Mapped[str | None] = mapped_column(String(1))
    file_name: Mapped[str | None] = mapped_column(String(255))
    upload_bytes: Mapped[int] = _counter()
    rows_read: Mapped[int] = _counter()
    inserted: Mapped[int] = _counter()
    updated: Mapped[int] = _counter()
    skipped: Mapped[int] = _counter()
    rejected: Mapped[int] = _counter()
    error: Mapped[str | None] = mapped_column(Text)
    committed_offset: Mapped[int] = _counter()
    committed_line: Mapped[int] = _counter()
    attempts: Mapped[int] = mapped_column(
        Integer, nullable=False, server_default=integer_default(0)
    )
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime())
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime())
    created_at: Mapped[datetime] = timestamp_now_column()
    started_at: Mapped[datetime | None] = mapped_column(DateTime())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime())


class ImportUpload(Base):
    """The uploaded file in chunks of about a MiB, so any worker streams it from PostgreSQL."""

    __tablename__ = "import_uploads"

    job_id: Mapped[int] = mapped_column(
        BigInteger,
        ForeignKey("import_jobs.id", ondelete="CASCADE", deferrable=True, initially="DEFERRED"),
        primary_key=True,
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    start_offset: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class ImportRejection(Base):
    __tablename__ = "import_rejections"

    job_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("import_jobs.id", ondelete="CASCADE"), primary_key=True
    )
    line_number: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    reason: Mapped[str] = mapped_column(Text)
    excerpt: Mapped[str | None] = mapped_column(Text)


class ImportSeenAddress(Base):
    """The addresses a running job has imported, with their first line; dropped when it ends.
    Keyed by a 64-bit hash of the address (migration 039); the address settles collisions."""

    __tablename__ = "import_seen_addresses"

    # no foreign key (migration 040): the retention sweep removes a deleted job's rows
    job_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    address_key: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    line_number: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    address: Mapped[str] = mapped_column(Text)
