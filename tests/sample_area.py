"""An area that only the tests register: one route, one command, one actor and its job.

It proves that an area needs nothing but its own files and one name: the tests pass this
module to `load_areas(extra=[...])`, as an entry point would for an installed package.
"""

from __future__ import annotations

import argparse
from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency

from openmailer.adapters.http.fast_routes import replaying
from openmailer.adapters.http.security import CurrentPrincipal, access
from openmailer.adapters.http.services import service_dependency
from openmailer.core.accounts.scopes import Scope
from openmailer.core.areas import (
    ActorSpec,
    CliCommand,
    FastRoute,
    HttpRoutes,
    PeriodicJob,
    ServiceBinding,
)
from openmailer.core.registry import Registrar
from openmailer.plugins import hookimpl

TICKS: list[int] = []


class SampleNote(msgspec.Struct):
    owner_id: int
    text: str


class SampleNotes:
    """The area's service, bound to the process's resources once."""

    def __init__(self, resources: object) -> None:
        self.resources = resources

    def notes_of(self, user_id: int) -> list[SampleNote]:
        return [SampleNote(owner_id=user_id, text="hello from the sample area")]


class SampleNoteController(Controller):
    path = "/sample-notes"
    tags = ["sample"]
    dependencies = {"notes": service_dependency("sample-notes")}

    @get("", operation_id="listSampleNotes", **access(Scope.READ_CONTACTS))
    async def list_notes(
        self, principal: CurrentPrincipal, notes: NamedDependency[SampleNotes]
    ) -> list[SampleNote]:
        """The caller's notes (always one, for the test)."""
        return notes.notes_of(principal.user.id)


def register_hello(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("sample-hello", help="say hello from the sample area")
    parser.set_defaults(handler=lambda args: print("hello from the sample area") or 0)


def sample_tick(number: int) -> None:
    TICKS.append(number)


async def answer_fast(notes: SampleNotes, scope: Any, receive: Any, send: Any) -> bool:
    """Answers `/sample-fast/yes` itself; any other path under the prefix goes on to Litestar."""
    if scope["path"] != "/sample-fast/yes":
        return False
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"fast from the sample area"})
    return True


async def answer_fast_post(notes: SampleNotes, scope: Any, receive: Any, send: Any) -> Any:
    """Reads the body: `fast` is answered here, anything else goes on to Litestar's echo route,
    which must read the very same body."""
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    if body != b"fast":
        return replaying(body, receive)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"fast post from the sample area"})
    return True


@post("/sample-fast/echo", status_code=200, include_in_schema=False)
async def echo(request: Request[Any, Any, Any]) -> bytes:
    return b"litestar read: " + await request.body()


@hookimpl
def register_http_routes(routes: Registrar[HttpRoutes]) -> None:
    routes.add("sample", HttpRoutes(handlers=(SampleNoteController,)))
    routes.add(
        "sample-fast",
        HttpRoutes(
            handlers=(echo,),
            at_root=True,
            fast_routes=(
                FastRoute(
                    "GET", "/sample-fast/", "/sample-fast/{word:str}", "sample-notes", answer_fast
                ),
                FastRoute(
                    "POST",
                    "/sample-fast/echo",
                    "/sample-fast/echo",
                    "sample-notes",
                    answer_fast_post,
                ),
            ),
        ),
    )


@hookimpl
def register_services(services: Registrar[ServiceBinding]) -> None:
    services.add("sample-notes", ServiceBinding(lambda resources, areas: SampleNotes(resources)))


@hookimpl
def register_cli_commands(commands: Registrar[CliCommand]) -> None:
    commands.add("sample-hello", CliCommand(register_hello))


@hookimpl
def register_actors(actors: Registrar[ActorSpec]) -> None:
    actors.add("sample_tick", ActorSpec(sample_tick, queue="sample", max_retries=0))


@hookimpl
def register_periodic_jobs(jobs: Registrar[PeriodicJob]) -> None:
    jobs.add("sample-tick", PeriodicJob("sample_tick", 30, arguments=lambda: (7,)))
