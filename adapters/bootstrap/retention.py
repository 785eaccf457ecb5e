"""The retention area bound to its adapters: the settings service, and running the jobs."""

from __future__ import annotations

from collections.abc import Sequence

from openmailer.adapters.bootstrap.resources import DatabaseResources, SystemClock
from openmailer.adapters.db.retention.jobs import RETENTION_JOBS
from openmailer.adapters.db.retention.store import (
    SqlAlchemyRetentionRunLog,
    SqlAlchemyRetentionSettings,
    naive_utc,
)
from openmailer.core.retention.model import (
    DEFAULT_BATCH_SIZE,
    RetentionJob,
    RetentionReport,
    RetentionRun,
)
from openmailer.core.retention.runner import run_jobs, select_jobs
from openmailer.core.retention.service import RetentionPorts, RetentionService


def build_retention(database: DatabaseResources) -> RetentionService:
    engine = database.engine
    return RetentionService(
        RetentionPorts(
            settings=SqlAlchemyRetentionSettings(engine),
            run_log=SqlAlchemyRetentionRunLog(engine),
        )
    )


async def run_retention(
    database: DatabaseResources,
    wanted: str | None,
    *,
    dry_run: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    jobs: Sequence[RetentionJob] = RETENTION_JOBS,
) -> list[RetentionReport]:
    """Run the job named `wanted` (or a cadence's jobs, or every job) now, recording each run.
    An unknown name is a ValidationError naming the jobs."""
    chosen = select_jobs(jobs, wanted)
    run = RetentionRun(now=naive_utc(SystemClock().now()), dry_run=dry_run, batch_size=batch_size)
    return await run_jobs(chosen, database.engine, run, SqlAlchemyRetentionRunLog(database.engine))
