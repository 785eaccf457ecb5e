"""Every hook of OpenMailer. Each receives a registrar: `registrar.add(key, value)`.

Hooks are called once per process at start-up, in plugin registration order; the values are
defined in `openmailer.core` (`core.areas` for the platform's own building blocks).
"""

from __future__ import annotations

import pluggy

from openmailer.core.areas import (
    ActorSpec,
    CliCommand,
    HttpRoutes,
    PeriodicJob,
    ServiceBinding,
    StartupStep,
)
from openmailer.core.registry import Registrar
from openmailer.core.segments.operators import SegmentOperator
from openmailer.core.sending.contract import ProviderType
from openmailer.core.tracking.model import TrackingHandler
from openmailer.plugins import PROJECT_NAME

hookspec = pluggy.HookspecMarker(PROJECT_NAME)


@hookspec
def register_http_routes(routes: Registrar[HttpRoutes]) -> None:
    """Add the area's Litestar controllers, under `/api/v1` (each declares its access) or root."""


@hookspec
def register_cli_commands(commands: Registrar[CliCommand]) -> None:
    """Add `openmailer` subcommands, keyed by the command name."""


@hookspec
def register_actors(actors: Registrar[ActorSpec]) -> None:
    """Add dramatiq actors, keyed by actor name; every worker and scheduler declares them."""


@hookspec
def register_periodic_jobs(jobs: Registrar[PeriodicJob]) -> None:
    """Add jobs the scheduler enqueues every period, keyed by job name."""


@hookspec
def register_startup_steps(steps: Registrar[StartupStep]) -> None:
    """Add steps `openmailer up` runs after migrating, keyed by step name."""


@hookspec
def register_services(services: Registrar[ServiceBinding]) -> None:
    """Add how the area's service is bound to a process's resources, keyed by the name its
    controllers ask for (`service_dependency(name)`)."""


@hookspec
def register_segment_operators(operators: Registrar[SegmentOperator]) -> None:
    """Add segment rule operators, keyed by the name rules use (docs/plugins.md)."""


@hookspec
def register_providers(providers: Registrar[ProviderType]) -> None:
    """Add sending provider types, keyed by type name (`SMTP`): each with its configuration
    schema, message form and client factory (`openmailer.core.sending.contract`)."""


@hookspec
def register_tracking_handlers(handlers: Registrar[TrackingHandler]) -> None:
    """Add what applying a batch of opens and clicks does, keyed by handler name: each runs in
    the batch's transaction over the events never applied before (docs/plugins.md)."""
