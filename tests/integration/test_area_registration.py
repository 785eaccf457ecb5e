"""An area registered only by a test appears everywhere an area must: the OpenAPI document and
the guard, the CLI, the worker's actors and the scheduler's jobs."""

from __future__ import annotations

import httpx
import pytest
import redis
from dramatiq.brokers.stub import StubBroker
from litestar import Litestar

from openmailer.adapters.cli import build_parser, main
from openmailer.adapters.metrics.http_latency import observation_of
from openmailer.adapters.workers.actors import declare_actors
from openmailer.adapters.workers.scheduler import enqueue_due, scheduled_jobs
from openmailer.core.accounts.service import AccountsPorts
from openmailer.plugins.manager import load_areas
from tests import sample_area
from tests.integration.accounts.accounts_helpers import api_key_for, make_user
from tests.integration.test_every_route_authorization import operations

pytestmark = pytest.mark.integration


async def test_its_route_is_documented_guarded_and_served(
    app: Litestar, client: httpx.AsyncClient, accounts: AccountsPorts
) -> None:
    protected, _ = operations(app)
    assert ("get", "/api/v1/sample-notes", "read:contacts") in protected  # the walk covers it
    assert app.state.areas.http_routes.plugin_of("sample") == sample_area.__name__
    bound = app.state.services["sample-notes"]  # built once, on the app's resources
    assert isinstance(bound, sample_area.SampleNotes) and bound.resources is app.state.resources

    assert (await client.get("/api/v1/sample-notes")).status_code == 401
    user = await make_user(accounts)
    wrong = await api_key_for(accounts, user, ["read:analytics"])
    assert (await client.get("/api/v1/sample-notes", headers=wrong.headers)).status_code == 403
    right = await api_key_for(accounts, user, ["read:contacts"])
    response = await client.get("/api/v1/sample-notes", headers=right.headers)
    assert response.status_code == 200
    assert response.json() == [{"owner_id": user.id, "text": "hello from the sample area"}]


def test_its_command_is_in_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    areas = load_areas(extra=[sample_area])
    assert "sample-hello" in build_parser(areas).format_help()
    assert main(["sample-hello"], areas=areas) == 0
    assert capsys.readouterr().out == "hello from the sample area\n"
    assert "sample-hello" not in build_parser(load_areas()).format_help()


def test_its_job_is_scheduled_and_its_actor_runs(redis_url: str) -> None:
    areas = load_areas(extra=[sample_area])
    broker = StubBroker()
    actors = declare_actors(areas.actors, broker)
    jobs = {job.name: job for job in scheduled_jobs(areas, actors)}
    assert {"heartbeat", "flush-usage", "sample-tick"} <= set(jobs)

    client = redis.Redis.from_url(redis_url)
    try:
        client.delete(*client.keys("openmailer:scheduler:sample-tick:*") or ["-"])
        assert enqueue_due(client, [jobs["sample-tick"]], now=3_000.0) == ["sample-tick"]
        assert enqueue_due(client, [jobs["sample-tick"]], now=3_001.0) == []  # same slot
    finally:
        client.delete(*client.keys("openmailer:scheduler:sample-tick:*") or ["-"])
        client.close()
    [message] = broker.queues["sample"].queue
    assert message.startswith(b"{") and b'"actor_name":"sample_tick"' in message.replace(b" ", b"")

    sample_area.TICKS.clear()
    actors["sample_tick"].fn(*areas.periodic_jobs["sample-tick"].arguments())
    assert sample_area.TICKS == [7]


async def test_its_fast_route_answers_before_litestar_and_declines_to_it(
    client: httpx.AsyncClient,
) -> None:
    answered = await client.get("/sample-fast/yes", headers={"x-request-id": "sample-fast-1"})
    assert answered.status_code == 200 and answered.text == "fast from the sample area"
    assert answered.headers["x-request-id"] == "sample-fast-1"  # inside the request context
    assert observation_of("/sample-fast/{word:str}", "GET", 200)._sum.get() > 0  # and the metrics

    declined = await client.get("/sample-fast/no")  # handed on: Litestar has no such route
    assert declined.status_code == 404
    assert declined.headers["content-type"].startswith("application/problem+json")
    assert declined.headers["x-request-id"]
    other_method = await client.post("/sample-fast/yes")
    assert other_method.status_code in (404, 405)


async def test_a_fast_route_that_read_the_body_hands_litestar_the_same_body(
    client: httpx.AsyncClient,
) -> None:
    answered = await client.post("/sample-fast/echo", content=b"fast")
    assert answered.status_code == 200 and answered.text == "fast post from the sample area"
    body = b"not for the fast route " * 300  # more than one chunk of the client's
    replayed = await client.post("/sample-fast/echo", content=body)
    assert replayed.status_code == 200, replayed.text
    assert replayed.content == b"litestar read: " + body
    assert replayed.headers["x-request-id"]
