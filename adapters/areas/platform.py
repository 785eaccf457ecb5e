"""The platform itself: health, metrics, the process commands, the worker heartbeat."""

from __future__ import annotations

import time

from openmailer.adapters.cli import migrate, processes, up, version
from openmailer.adapters.http.health import health
from openmailer.adapters.http.metrics import metrics
from openmailer.adapters.workers.heartbeats import heartbeat
from openmailer.core.areas import ActorSpec, CliCommand, HttpRoutes, PeriodicJob
from openmailer.core.registry import Registrar
from openmailer.plugins import hookimpl


@hookimpl
def register_http_routes(routes: Registrar[HttpRoutes]) -> None:
    routes.add("health", HttpRoutes(handlers=(health,), at_root=True))
    routes.add("metrics", HttpRoutes(handlers=(metrics,), at_root=True))


@hookimpl
def register_cli_commands(commands: Registrar[CliCommand]) -> None:
    commands.add("up", CliCommand(up.register))
    commands.add("migrate", CliCommand(migrate.register))
    commands.add("api", CliCommand(processes.register_api))
    commands.add("worker", CliCommand(processes.register_worker))
    commands.add("scheduler", CliCommand(processes.register_scheduler))
    commands.add("version", CliCommand(version.register))


@hookimpl
def register_actors(actors: Registrar[ActorSpec]) -> None:
    actors.add(
        "heartbeat", ActorSpec(heartbeat, queue="maintenance", max_retries=0, time_limit_ms=10_000)
    )


@hookimpl
def register_periodic_jobs(jobs: Registrar[PeriodicJob]) -> None:
    jobs.add("heartbeat", PeriodicJob("heartbeat", 15, arguments=lambda: (time.time(),)))
