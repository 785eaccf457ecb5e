"""The runner (timed, recorded, a failure isolated) and `openmailer retention run|list`."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dramatiq.brokers.stub import StubBroker
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncEngine

from openmailer.adapters.bootstrap import builtin_areas
from openmailer.adapters.cli import main
from openmailer.adapters.db.retention.jobs import RETENTION_JOBS
from openmailer.adapters.db.retention.store import SqlAlchemyRetentionRunLog
from openmailer.adapters.workers.actors import declare_actors
from openmailer.adapters.workers.scheduler import scheduled_jobs
from openmailer.core.retention.model import Cadence, RetentionJob, RetentionRun
from openmailer.core.retention.runner import run_jobs, select_jobs
from openmailer.core.schedules import CalendarSchedule
from tests.integration.retention.retention_helpers import NOW, Seed, days_ago, job_named

pytestmark = pytest.mark.integration

RUNS = "SELECT job, dry_run, started_at, rows, error FROM retention_runs ORDER BY id"


async def broken(engine: Any, run: RetentionRun) -> Mapping[str, int]:
    raise RuntimeError("the disk is on fire")


async def test_each_run_is_recorded_and_a_failed_job_does_not_stop_the_next(
    engine: AsyncEngine,
) -> None:
    seed = Seed(engine)
    owner = await seed.user()
    for age in (100, 120, 1):
        await seed.email_log(owner, created=days_ago(age))
    jobs = [
        RetentionJob("broken", Cadence.DAILY, "fails", broken),
        job_named("email-logs"),
    ]

    reports = await run_jobs(
        jobs, engine, RetentionRun(now=NOW, batch_size=1), SqlAlchemyRetentionRunLog(engine)
    )

    assert [(r.job, r.failed, dict(r.rows)) for r in reports] == [
        ("broken", True, {}),
        ("email-logs", False, {"email_logs": 2}),
    ]
    assert all(report.seconds >= 0 for report in reports)
    assert await seed.rows(RUNS) == [
        ("broken", False, NOW, {}, "RuntimeError: the disk is on fire"),
        ("email-logs", False, NOW, {"email_logs": 2}, None),
    ]
    latest = await SqlAlchemyRetentionRunLog(engine).latest()
    assert set(latest) == {"broken", "email-logs"}
    assert latest["email-logs"].report.rows == {"email_logs": 2}


def test_jobs_are_chosen_by_name_or_cadence() -> None:
    monthly = [job.name for job in select_jobs(RETENTION_JOBS, "monthly")]
    assert monthly == ["monthly-counters", "aggregate-clicks", "archive-campaigns"]
    daily = {job.name for job in select_jobs(RETENTION_JOBS, "daily")}
    assert daily == {
        "pending-contacts",
        "email-logs",
        "webhook-events",
        "expired-api-keys",
        "erasure-audit",
        "contact-history",
        "import-scratch",
    }
    assert len(select_jobs(RETENTION_JOBS, None)) == len(RETENTION_JOBS)


@pytest.fixture
def cli_database(retention_database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("OPENMAILER_DATABASE_URL", retention_database_url)
    return retention_database_url


async def openmailer(*argv: str) -> int:
    """The command as a shell runs it (its own event loop, so in a thread of its own)."""
    return await asyncio.to_thread(main, list(argv))


async def test_the_cli_dry_run_prints_counts_and_removes_nothing_then_the_job_removes(
    engine: AsyncEngine, cli_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # The command runs on the system clock, as the scheduled runs do: ages far from any edge.
    now = datetime.now(UTC).replace(tzinfo=None)  # naive UTC, as the columns
    seed = Seed(engine)
    owner = await seed.user()
    old = [await seed.email_log(owner, created=now - timedelta(days=200)) for _ in range(3)]
    recent = await seed.email_log(owner, created=now - timedelta(days=1))
    await seed.webhook_event(owner, processed=True, created=now - timedelta(days=60))

    assert await openmailer("retention", "run", "--dry-run") == 0
    printed = capsys.readouterr().out
    assert "email-logs: would remove email_logs 3 (" in printed
    assert "webhook-events: would remove webhook_events 1 (" in printed
    assert "pending-contacts: would remove contacts 0 (" in printed
    assert await seed.ids("email_logs") == {*old, recent}

    assert await openmailer("retention", "run", "email-logs", "--batch-size", "2") == 0
    assert capsys.readouterr().out.startswith("email-logs: removed email_logs 3 (")
    assert await seed.ids("email_logs") == {recent}
    assert await seed.value("SELECT count(*) FROM webhook_events") == 1  # not this job's

    assert await openmailer("retention", "list") == 0
    listing = capsys.readouterr().out
    assert "email-logs (daily): delete email logs older than 90 days" in listing
    assert "monthly-counters (monthly):" in listing
    assert "email_logs 3 in " in listing
    assert "webhook-events (daily)" in listing and "(dry run): webhook_events 1" in listing
    assert "never run" not in listing.split("monthly-counters")[0].split("email-logs")[1]


async def test_the_cli_names_the_jobs_when_asked_for_an_unknown_one(
    cli_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await openmailer("retention", "run", "email-log") == 2
    out = capsys.readouterr().out
    assert "no retention job 'email-log'; one of: pending-contacts, email-logs," in out
    assert out.rstrip().endswith("daily, monthly")


def test_the_scheduler_runs_each_cadence_on_the_maintenance_queue() -> None:
    areas = builtin_areas()
    daily, monthly = (
        areas.periodic_jobs["retention-daily"],
        areas.periodic_jobs["retention-monthly"],
    )
    assert (daily.actor, daily.calendar) == ("retention_daily", CalendarSchedule.daily(hour=3))
    assert (monthly.actor, monthly.calendar) == (
        "retention_monthly",
        CalendarSchedule.monthly(day=1, hour=2),
    )
    for actor in ("retention_daily", "retention_monthly"):
        assert areas.actors[actor].queue == "maintenance"
        assert areas.actors[actor].max_retries == 0  # a failure is recorded; next period retries
    scheduled = {
        job.name: job for job in scheduled_jobs(areas, declare_actors(areas.actors, StubBroker()))
    }
    assert scheduled["retention-daily"].slot(NOW.replace(tzinfo=UTC).timestamp()) == (
        "2031-03-15",
        2 * 24 * 3600,
    )


async def test_the_daily_actor_runs_and_records_every_daily_job(
    engine: AsyncEngine, cli_database: str
) -> None:
    seed = Seed(engine)
    owner = await seed.user()
    await seed.email_log(
        owner, created=datetime.now(UTC).replace(tzinfo=None) - timedelta(days=100)
    )
    actor = builtin_areas().actors["retention_daily"]
    removed = {"job": "email-logs", "table": "email_logs"}
    before = REGISTRY.get_sample_value("openmailer_retention_rows_total", removed) or 0.0

    await asyncio.to_thread(actor.function)

    # the worker's /metrics shows what the run removed
    assert REGISTRY.get_sample_value("openmailer_retention_rows_total", removed) == before + 1

    recorded = await seed.rows("SELECT job, dry_run, rows, error FROM retention_runs ORDER BY id")
    assert [job for job, *_ in recorded] == [
        job.name for job in RETENTION_JOBS if job.cadence is Cadence.DAILY
    ]
    assert ("email-logs", False, {"email_logs": 1}, None) in recorded
