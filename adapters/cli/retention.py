"""`openmailer retention run [JOB] [--dry-run]` and `openmailer retention list`.

`run` runs a job now (or a cadence's jobs: `daily`, `monthly`; or every job), records each run
in `retention_runs` as the scheduled runs are, and prints per table what it removed (with
`--dry-run`: what it would remove, changing nothing). Needs only PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio

from openmailer.adapters.bootstrap import build_retention, open_database, run_retention
from openmailer.adapters.db.retention.jobs import RETENTION_JOBS
from openmailer.adapters.settings import load_settings
from openmailer.core.errors import DomainError
from openmailer.core.retention.model import DEFAULT_BATCH_SIZE, RecordedRun, RetentionReport


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("retention", help="run and list the data retention jobs")
    commands = parser.add_subparsers(dest="retention_command", required=True, metavar="ACTION")
    run = commands.add_parser(
        "run", help="run a retention job now (or a cadence's jobs: daily, monthly; or all)"
    )
    run.add_argument("job", nargs="?", help="a job name (see `retention list`), daily or monthly")
    run.add_argument(
        "--dry-run", action="store_true", help="count what would be removed; change nothing"
    )
    run.add_argument(
        "--batch-size", type=positive, default=DEFAULT_BATCH_SIZE, help="rows per transaction"
    )
    run.set_defaults(handler=run_jobs)
    listing = commands.add_parser("list", help="each job, its cadence and its last run")
    listing.set_defaults(handler=list_jobs)


def positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}")
    return number


def report_line(report: RetentionReport) -> str:
    verb = "would remove" if report.dry_run else "removed"
    if report.failed:
        return f"{report.job}: FAILED after {report.seconds:.2f}s: {report.error}"
    rows = ", ".join(f"{table} {count}" for table, count in sorted(report.rows.items()))
    return f"{report.job}: {verb} {rows or 'nothing'} ({report.seconds:.2f}s)"


def run_jobs(args: argparse.Namespace) -> int:
    async def run() -> list[RetentionReport]:
        async with open_database(load_settings()) as database:
            return await run_retention(
                database, args.job, dry_run=args.dry_run, batch_size=args.batch_size
            )

    try:
        reports = asyncio.run(run())
    except DomainError as error:
        print(f"openmailer retention run: {error.detail}")
        return 2
    for report in reports:
        print(report_line(report))
    return 1 if any(report.failed for report in reports) else 0


def last_run_text(recorded: RecordedRun | None) -> str:
    if recorded is None:
        return "never run"
    report = recorded.report
    when = f"{recorded.started_at:%Y-%m-%d %H:%M} UTC"
    dry = " (dry run)" if report.dry_run else ""
    if report.failed:
        return f"{when}{dry}: FAILED: {report.error}"
    rows = ", ".join(f"{table} {count}" for table, count in sorted(report.rows.items()))
    return f"{when}{dry}: {rows or 'nothing'} in {report.seconds:.2f}s"


def list_jobs(args: argparse.Namespace) -> int:
    async def latest() -> dict[str, RecordedRun]:
        async with open_database(load_settings()) as database:
            return dict(await build_retention(database).last_runs())

    runs = asyncio.run(latest())
    for job in RETENTION_JOBS:
        print(f"{job.name} ({job.cadence}): {job.description}")
        print(f"    last run: {last_run_text(runs.get(job.name))}")
    return 0
