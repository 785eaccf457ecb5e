"""`GET /metrics` on the API: the text format for loopback clients, the answer of an unknown path
for anyone else, a bearer token when one is set; what a scrape reads live from Redis and
PostgreSQL (queue depths, circuit breakers, the tracking buffer); the API's own counters."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from litestar import Litestar
from redis.asyncio import Redis

from openmailer.adapters.http.app import create_app, make_lifespan
from openmailer.adapters.metrics.live import read_live_figures
from openmailer.adapters.redis.tracking_stream import STREAM_KEY
from openmailer.adapters.settings import Settings
from tests.integration.accounts.accounts_helpers import session_for
from tests.integration.campaigns.conftest import World
from tests.integration.conftest import TEST_PASSWORD_ROUNDS
from tests.integration.metrics.metrics_helpers import has, value
from tests.integration.sending.failover_helpers import smtp_provider_at
from tests.integration.sending.smtp_sink import free_port

pytestmark = pytest.mark.integration
TOKEN = "scrape-token-" + "7" * 24
OUTSIDER = ("203.0.113.9", 41000)


def _without_request_id(response: httpx.Response) -> dict[str, object]:
    return {k: v for k, v in response.json().items() if k != "request_id"}


async def _metrics(client: httpx.AsyncClient) -> str:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


@pytest.fixture
async def outsider(app: Litestar, client: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """The same running app, reached from an address that is not this machine's."""
    transport = httpx.ASGITransport(app=app, client=OUTSIDER)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        yield other


@pytest.fixture
async def guarded_app(accounts_settings: Settings) -> AsyncIterator[Litestar]:
    settings = dataclasses.replace(accounts_settings, metrics_token=TOKEN)
    app = create_app(settings, password_rounds=TEST_PASSWORD_ROUNDS)
    async with make_lifespan(settings, password_rounds=TEST_PASSWORD_ROUNDS)(app):
        yield app


def _client_of(app: Litestar, address: tuple[str, int]) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=address)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_a_loopback_client_reads_every_source_in_the_text_format(
    client: httpx.AsyncClient,
) -> None:
    text = await _metrics(client)
    for source in ("queues", "tracking_buffer", "circuit_breakers", "campaigns"):
        assert value(text, "openmailer_metrics_source_up", source=source) == 1, source
    # every queue an area registered, in each state, even when empty
    for queue in ("campaigns", "maintenance", "tracking", "webhooks", "imports"):
        assert has(text, "openmailer_queue_messages", queue=queue, state="ready"), queue
        assert has(text, "openmailer_queue_messages", queue=queue, state="dead"), queue
    assert has(text, "openmailer_tracking_events_buffered")


async def test_the_request_latency_histogram_counts_by_route_template(
    client: httpx.AsyncClient,
) -> None:
    labels = {"route": "/t/o/{token}", "method": "GET", "status": "404"}
    before = value(
        await _metrics(client), "openmailer_http_request_duration_seconds_count", **labels
    )
    for n in range(3):
        assert (await client.get(f"/t/o/forged-{n}.gif")).status_code == 404
    assert (await client.get("/no/such/path/at-all")).status_code == 404
    text = await _metrics(client)
    assert value(text, "openmailer_http_request_duration_seconds_count", **labels) == before + 3
    # raw paths never become labels: the unknown one is `unmatched`
    assert has(text, "openmailer_http_request_duration_seconds_count", route="unmatched")
    assert "forged-0" not in text and "at-all" not in text


async def test_a_client_elsewhere_gets_the_answer_of_a_path_that_does_not_exist(
    outsider: httpx.AsyncClient,
) -> None:
    refused = await outsider.get("/metrics")
    unknown = await outsider.get("/no-such-path")
    assert refused.status_code == unknown.status_code == 404
    assert _without_request_id(refused) == _without_request_id(unknown)
    assert "openmailer_" not in refused.text
    # a forwarded-for header from an untrusted peer changes nothing
    spoofed = await outsider.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"})
    assert spoofed.status_code == 404


async def test_with_a_token_set_every_client_must_bear_it(guarded_app: Litestar) -> None:
    async with (
        _client_of(guarded_app, ("127.0.0.1", 40001)) as local,
        _client_of(guarded_app, OUTSIDER) as remote,
    ):
        assert (await local.get("/metrics")).status_code == 404  # loopback is not enough
        wrong = {"Authorization": "Bearer " + TOKEN[:-1] + "8"}
        assert (await remote.get("/metrics", headers=wrong)).status_code == 404
        basic = {"Authorization": "Basic " + TOKEN}
        assert (await remote.get("/metrics", headers=basic)).status_code == 404
        answer = await remote.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert answer.status_code == 200
        assert has(answer.text, "openmailer_queue_messages", queue="campaigns")


async def test_circuit_breaker_states_are_read_from_redis(
    world: World, client: httpx.AsyncClient, app: Litestar
) -> None:
    admin = await session_for(world.accounts, world.owner.user)
    provider_id = await smtp_provider_at(world.client, admin, 9)
    redis: Redis = app.state.resources.redis
    key = f"om:cb:{provider_id}"
    labels = {"provider_id": str(provider_id), "provider_type": "SMTP"}
    try:
        text = await _metrics(client)
        assert value(text, "openmailer_provider_circuit_state", state="closed", **labels) == 1
        await redis.hset(
            key, mapping={"failures": 5, "open_until": int(time.time() * 1000) + 60_000}
        )
        text = await _metrics(client)
        assert value(text, "openmailer_provider_circuit_state", state="open", **labels) == 1
        assert value(text, "openmailer_provider_circuit_state", state="closed", **labels) == 0
        assert value(text, "openmailer_provider_consecutive_failures", **labels) == 5
        await redis.hset(key, "open_until", int(time.time() * 1000) - 1)
        text = await _metrics(client)
        assert value(text, "openmailer_provider_circuit_state", state="half_open", **labels) == 1
    finally:
        await redis.delete(key)


async def test_the_tracking_buffer_length_is_read_at_scrape_time(
    client: httpx.AsyncClient, app: Litestar
) -> None:
    redis: Redis = app.state.resources.redis
    added = [await redis.xadd(STREAM_KEY, {"k": "open", "t": f"metrics-{n}"}) for n in range(3)]
    try:
        text = await _metrics(client)
        assert value(text, "openmailer_tracking_events_buffered") == await redis.xlen(STREAM_KEY)
        assert value(text, "openmailer_tracking_events_buffered") >= 3
    finally:
        await redis.xdel(STREAM_KEY, *added)


async def test_refused_webhook_requests_are_counted_by_reason(client: httpx.AsyncClient) -> None:
    before = value(
        await _metrics(client),
        "openmailer_webhook_requests_rejected_total",
        reason="webhook_not_found",
    )
    assert (await client.post("/webhooks/" + "0" * 64, content=b"{}")).status_code == 404
    after = value(
        await _metrics(client),
        "openmailer_webhook_requests_rejected_total",
        reason="webhook_not_found",
    )
    assert after == before + 1


async def test_an_unreachable_redis_leaves_its_readings_out_and_postgresql_still_answers(
    app: Litestar,
) -> None:
    nothing_listens = Redis.from_url(
        f"redis://127.0.0.1:{free_port()}", socket_connect_timeout=0.5, socket_timeout=0.5
    )
    try:
        figures = await read_live_figures(
            app.state.resources.engine, nothing_listens, ["campaigns"]
        )
    finally:
        await nothing_listens.aclose()
    assert figures.failed_sources == {"queues", "tracking_buffer", "circuit_breakers"}
    assert figures.queues == {} and figures.tracking_buffered is None
    assert isinstance(figures.campaigns, list)  # read from PostgreSQL all the same
