"""Import jobs' rows (`import_jobs`, migration 027) read as the core's `ImportJob`."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Table
from sqlalchemy.engine import RowMapping

from openmailer.adapters.db.tables.imports import ImportJob as ImportJobRow
from openmailer.adapters.db.users import from_db_time
from openmailer.core.imports.model import Counters, ImportJob, ImportMode, ImportStatus

JOBS = cast(Table, ImportJobRow.__table__)


def to_job(row: RowMapping) -> ImportJob:
    return ImportJob(
        id=row["id"],
        user_id=row["user_id"],
        list_id=row["list_id"],
        status=ImportStatus(row["status"]),
        mode=ImportMode(row["mode"]),
        mapping=dict(row["mapping"]),
        delimiter=row["delimiter"],
        file_name=row["file_name"],
        upload_bytes=row["upload_bytes"],
        counters=Counters(
            rows_read=row["rows_read"],
            inserted=row["inserted"],
            updated=row["updated"],
            skipped=row["skipped"],
            rejected=row["rejected"],
        ),
        error=row["error"],
        committed_offset=row["committed_offset"],
        committed_line=row["committed_line"],
        attempts=row["attempts"],
        created_at=cast(datetime, from_db_time(row["created_at"])),
        started_at=from_db_time(row["started_at"]),
        finished_at=from_db_time(row["finished_at"]),
    )
