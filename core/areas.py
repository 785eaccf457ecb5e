"""What an area of the platform contributes at start-up, as plain values.

An area (accounts, audience, sending, ...) is a plugin: through the hooks in
`openmailer.plugins.hookspecs` it adds its HTTP controllers, CLI commands, worker actors,
periodic jobs and start-up steps to these registries, once per process. The HTTP app, the CLI,
the worker and the scheduler then read the registries; none of them lists areas by hand.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from openmailer.core.registry import Registry
from openmailer.core.schedules import CalendarSchedule
from openmailer.core.segments.operators import SegmentOperator
from openmailer.core.sending.contract import ProviderType
from openmailer.core.tracking.model import TrackingHandler


@dataclass(frozen=True, slots=True)
class FastRoute:
    """A public route answered at the ASGI layer, before Litestar routes the request.

    For the few endpoints every recipient hits (the open pixel, the click redirect, one-click
    unsubscribe), where Litestar's routing, dependency injection and layers cost more than the
    work itself. A request whose method is `method` and whose path starts with `path_prefix` is
    offered to `answer(service, scope, receive, send)`, `service` being what the area's
    `ServiceBinding` named `service` built; `answer` returns True once it has answered, or False,
    having sent nothing, to hand the request on to Litestar (whose route for the same path stays
    the documented one). Having read the body, it declines by returning, instead of False, the
    `receive` Litestar is to read the body from (`adapters.http.fast_routes.replaying`).
    `template` is the route's path template, the label its latency is recorded under.
    """

    method: str
    path_prefix: str
    template: str
    service: str
    answer: Callable[[Any, Any, Any, Any], Awaitable[bool | Callable[[], Awaitable[Any]]]]


@dataclass(frozen=True, slots=True)
class HttpRoutes:
    """Litestar controllers or route handlers of an area, mounted under `/api/v1` (where every
    route must declare its access), or at the root for public pages (`at_root=True`), with any
    fast routes answering some of the same paths first."""

    handlers: tuple[Any, ...]
    at_root: bool = False
    fast_routes: tuple[FastRoute, ...] = ()


@dataclass(frozen=True, slots=True)
class ActorSpec:
    """A worker job. The function takes ids and plain values only (they cross a queue)."""

    function: Callable[..., None]
    queue: str
    max_retries: int = 3
    time_limit_ms: int = 600_000


@dataclass(frozen=True, slots=True)
class PeriodicJob:
    """Enqueue `actor` every `interval_seconds`, or at the times of `calendar` (daily at 03:00
    UTC, ...), once per period across all schedulers. Exactly one of the two is given."""

    actor: str
    interval_seconds: int | None = None
    arguments: Callable[[], tuple[Any, ...]] = tuple
    calendar: CalendarSchedule | None = None

    def __post_init__(self) -> None:
        if (self.interval_seconds is None) == (self.calendar is None):
            raise ValueError(
                f"periodic job of {self.actor!r}: give exactly one of interval_seconds and calendar"
            )
        if self.interval_seconds is not None and self.interval_seconds < 1:
            raise ValueError(f"periodic job of {self.actor!r}: interval_seconds must be >= 1")


@dataclass(frozen=True, slots=True)
class StartupStep:
    """Runs in `openmailer up` after migrations; returns lines to show the operator once.

    `run` receives the process's settings (an adapters type, hence Any here).
    """

    run: Callable[[Any], list[str]]
    order: int = 100


@dataclass(frozen=True, slots=True)
class ServiceBinding:
    """Binds an area's service to a process's resources, once per process (the HTTP app does it
    in its lifespan). `build(resources, areas)` receives the adapters' `Resources` (hence Any
    here) and these registries, for a service that uses what plugins registered."""

    build: Callable[[Any, AreaRegistries], Any]


@dataclass(frozen=True, slots=True)
class CliCommand:
    """`register(subparsers)` adds the command's argparse parser (with a `handler` default)."""

    register: Callable[[Any], None]


@dataclass
class AreaRegistries:
    """Everything the areas registered; built once per process by the plugin manager."""

    http_routes: Registry[HttpRoutes] = field(default_factory=lambda: Registry("HTTP routes"))
    cli_commands: Registry[CliCommand] = field(default_factory=lambda: Registry("CLI command"))
    actors: Registry[ActorSpec] = field(default_factory=lambda: Registry("actor"))
    periodic_jobs: Registry[PeriodicJob] = field(default_factory=lambda: Registry("periodic job"))
    startup_steps: Registry[StartupStep] = field(default_factory=lambda: Registry("start-up step"))
    services: Registry[ServiceBinding] = field(default_factory=lambda: Registry("service"))
    segment_operators: Registry[SegmentOperator] = field(
        default_factory=lambda: Registry("segment operator")
    )
    providers: Registry[ProviderType] = field(default_factory=lambda: Registry("provider type"))
    tracking_handlers: Registry[TrackingHandler] = field(
        default_factory=lambda: Registry("tracking handler")
    )
