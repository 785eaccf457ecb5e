"""Retention: the spec's data retention jobs (daily at 03:00 UTC, monthly on the 1st at 02:00
UTC), `openmailer retention`, and each user's choices at `/api/v1/settings/retention`."""

from __future__ import annotations

import asyncio
import logging

from openmailer.adapters.cli import retention as retention_cli
from openmailer.adapters.http.settings.retention import RetentionSettingsController
from openmailer.core.areas import ActorSpec, CliCommand, HttpRoutes, PeriodicJob, ServiceBinding
from openmailer.core.registry import Registrar
from openmailer.core.retention.model import Cadence
from openmailer.core.schedules import CalendarSchedule
from openmailer.plugins import hookimpl

log = logging.getLogger("openmailer.retention")

SCHEDULES = {
    Cadence.DAILY: CalendarSchedule.daily(hour=3),
    Cadence.MONTHLY: CalendarSchedule.monthly(day=1, hour=2),
}
# A first run over a large backlog takes a while in its small batches; later ones are quick.
RUN_TIME_LIMIT_MS = 3 * 3600 * 1000


@hookimpl
def register_http_routes(routes: Registrar[HttpRoutes]) -> None:
    routes.add("retention", HttpRoutes(handlers=(RetentionSettingsController,)))


@hookimpl
def register_services(services: Registrar[ServiceBinding]) -> None:
    from openmailer.adapters.bootstrap import build_retention

    services.add("retention", ServiceBinding(lambda resources, areas: build_retention(resources)))


@hookimpl
def register_cli_commands(commands: Registrar[CliCommand]) -> None:
    commands.add("retention", CliCommand(retention_cli.register))


def run_cadence(cadence: Cadence) -> None:
    from openmailer.adapters.bootstrap import open_database, run_retention
    from openmailer.adapters.metrics.instruments import observe_retention_run

    async def run() -> None:
        async with open_database() as database:
            for report in await run_retention(database, cadence.value):
                observe_retention_run(
                    report.job, report.rows, report.seconds, failed=report.error is not None
                )
                log.info(
                    "retention_job_ran",
                    extra={
                        "job": report.job,
                        "rows": dict(report.rows),
                        "seconds": round(report.seconds, 3),
                        "error": report.error,
                    },
                )

    asyncio.run(run())


def retention_daily() -> None:
    """The daily retention jobs; each failure is recorded in retention_runs, not retried."""
    run_cadence(Cadence.DAILY)


def retention_monthly() -> None:
    """The monthly retention jobs; each failure is recorded in retention_runs, not retried."""
    run_cadence(Cadence.MONTHLY)


@hookimpl
def register_actors(actors: Registrar[ActorSpec]) -> None:
    for name, function in (
        ("retention_daily", retention_daily),
        ("retention_monthly", retention_monthly),
    ):
        actors.add(
            name,
            ActorSpec(
                function, queue="maintenance", max_retries=0, time_limit_ms=RUN_TIME_LIMIT_MS
            ),
        )


@hookimpl
def register_periodic_jobs(jobs: Registrar[PeriodicJob]) -> None:
    jobs.add("retention-daily", PeriodicJob("retention_daily", calendar=SCHEDULES[Cadence.DAILY]))
    jobs.add(
        "retention-monthly",
        PeriodicJob("retention_monthly", calendar=SCHEDULES[Cadence.MONTHLY]),
    )
