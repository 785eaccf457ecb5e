"""Accounts and access: users, sessions, 2FA, API keys, rate limits."""

from __future__ import annotations

import asyncio

from openmailer.adapters.cli import keys, users
from openmailer.adapters.http.accounts.api_keys import ApiKeyController
from openmailer.adapters.http.accounts.auth import AuthController
from openmailer.adapters.http.accounts.me import MeController
from openmailer.adapters.http.accounts.two_factor import TwoFactorController
from openmailer.adapters.http.accounts.users import UserController
from openmailer.core.areas import ActorSpec, CliCommand, HttpRoutes, PeriodicJob, StartupStep
from openmailer.core.registry import Registrar
from openmailer.plugins import hookimpl


@hookimpl
def register_http_routes(routes: Registrar[HttpRoutes]) -> None:
    routes.add(
        "accounts",
        HttpRoutes(
            handlers=(
                AuthController,
                MeController,
                TwoFactorController,
                ApiKeyController,
                UserController,
            )
        ),
    )


@hookimpl
def register_cli_commands(commands: Registrar[CliCommand]) -> None:
    commands.add("users", CliCommand(users.register))
    commands.add("keys", CliCommand(keys.register))


def flush_usage() -> None:
    """Move buffered rate-limit counts and API-key use from Redis to PostgreSQL, in aggregate."""
    from openmailer.adapters.bootstrap import open_resources
    from openmailer.adapters.redis.flush import flush_usage as flush

    async def run() -> None:
        async with open_resources() as resources:
            await flush(resources)

    asyncio.run(run())


@hookimpl
def register_actors(actors: Registrar[ActorSpec]) -> None:
    actors.add("flush_usage", ActorSpec(flush_usage, queue="maintenance", time_limit_ms=120_000))


@hookimpl
def register_periodic_jobs(jobs: Registrar[PeriodicJob]) -> None:
    jobs.add("flush-usage", PeriodicJob("flush_usage", 60))


@hookimpl
def register_startup_steps(steps: Registrar[StartupStep]) -> None:
    steps.add("first-admin", StartupStep(users.first_admin_step))
