"""Running retention jobs: each one timed, recorded, and isolated from the others' failures."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from openmailer.core.errors import ValidationError
from openmailer.core.ports.retention import RetentionRunLog
from openmailer.core.retention.model import Cadence, RetentionJob, RetentionReport, RetentionRun

log = logging.getLogger("openmailer.retention")


def select_jobs(jobs: Sequence[RetentionJob], wanted: str | None) -> list[RetentionJob]:
    """`wanted`: a job's name, a cadence (`daily`, `monthly`: its jobs), or None (every job)."""
    if wanted is None:
        return list(jobs)
    if wanted in tuple(Cadence):
        return [job for job in jobs if job.cadence == wanted]
    chosen = [job for job in jobs if job.name == wanted]
    if not chosen:
        names = ", ".join([*(job.name for job in jobs), *tuple(Cadence)])
        raise ValidationError(f"no retention job {wanted!r}; one of: {names}", field="job")
    return chosen


async def run_job(
    job: RetentionJob,
    target: Any,
    run: RetentionRun,
    run_log: RetentionRunLog,
    *,
    timer: Callable[[], float] = time.perf_counter,
) -> RetentionReport:
    """Run one job on `target` (the adapters' database engine) and record what it did. A job
    that fails is recorded with its error and reported, not raised: the next job still runs."""
    started = timer()
    try:
        rows, error = dict(await job.run(target, run)), None
    except Exception as failure:
        log.exception("retention_job_failed", extra={"job": job.name})
        rows, error = {}, f"{type(failure).__name__}: {failure}"
    report = RetentionReport(job.name, run.dry_run, rows, timer() - started, error)
    await run_log.record(report, started_at=run.now)
    return report


async def run_jobs(
    jobs: Sequence[RetentionJob],
    target: Any,
    run: RetentionRun,
    run_log: RetentionRunLog,
    *,
    timer: Callable[[], float] = time.perf_counter,
) -> list[RetentionReport]:
    """Each job in turn (one at a time: they share the database with the send path)."""
    return [await run_job(job, target, run, run_log, timer=timer) for job in jobs]
