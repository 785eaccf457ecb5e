"""CSV imports of contacts: `/api/v1/imports`, the worker's `run_import`, the periodic
`reclaim_imports` (jobs whose worker died or whose message was lost), `openmailer import`."""

from __future__ import annotations

import asyncio
import logging

from openmailer.adapters.cli import imports as imports_command
from openmailer.adapters.http.imports.imports import ImportController
from openmailer.adapters.workers.import_queue import IMPORTS_QUEUE, RUN_IMPORT_ACTOR
from openmailer.core.areas import ActorSpec, CliCommand, HttpRoutes, PeriodicJob, ServiceBinding
from openmailer.core.registry import Registrar
from openmailer.plugins import hookimpl

log = logging.getLogger(__name__)
RECLAIM_INTERVAL_SECONDS = 60


@hookimpl
def register_http_routes(routes: Registrar[HttpRoutes]) -> None:
    routes.add("imports", HttpRoutes(handlers=(ImportController,)))


@hookimpl
def register_services(services: Registrar[ServiceBinding]) -> None:
    from openmailer.adapters.bootstrap import build_imports

    services.add("imports", ServiceBinding(lambda resources, areas: build_imports(resources)))


@hookimpl
def register_cli_commands(commands: Registrar[CliCommand]) -> None:
    commands.add("import", CliCommand(imports_command.register))


def run_import(job_id: int) -> None:
    """Run (or resume) one import; a job another worker holds, or finished, is left alone."""
    from openmailer.adapters.bootstrap import build_imports, open_database

    async def run() -> None:
        async with open_database() as database:
            job = await build_imports(database).run(job_id)
        if job is not None:
            log.info("import_finished", extra={"job_id": job_id, "status": job.status.value})

    asyncio.run(run())


def reclaim_imports() -> None:
    from openmailer.adapters.bootstrap import build_imports, open_database

    async def run() -> list[int]:
        async with open_database() as database:
            return await build_imports(database).reclaim()

    reclaimed = asyncio.run(run())
    if reclaimed:
        log.info("imports_reclaimed", extra={"job_ids": reclaimed})


@hookimpl
def register_actors(actors: Registrar[ActorSpec]) -> None:
    # No retries of the message: a run that dies leaves its lease to expire, and the periodic
    # reclaim hands the job on again (resuming after its last committed batch).
    actors.add(
        RUN_IMPORT_ACTOR,
        ActorSpec(run_import, queue=IMPORTS_QUEUE, max_retries=0, time_limit_ms=6 * 3_600_000),
    )
    actors.add(
        "reclaim_imports",
        ActorSpec(reclaim_imports, queue="maintenance", max_retries=0, time_limit_ms=60_000),
    )


@hookimpl
def register_periodic_jobs(jobs: Registrar[PeriodicJob]) -> None:
    jobs.add("reclaim-imports", PeriodicJob("reclaim_imports", RECLAIM_INTERVAL_SECONDS))
