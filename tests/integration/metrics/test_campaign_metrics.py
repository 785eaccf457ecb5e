"""A campaign to an SMTP sink through a real `openmailer worker` with two processes, scraped from
the API and from the worker's own endpoint before, during and after: the worker's sent and
claimed counters move by the campaign's size (both processes' samples summed), the provider's
latency histogram and the message counts grow, the API reads the campaign's send speed and
queue depths while it sends, and its own latency histogram counts the requests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from litestar import Litestar
from prometheus_client import REGISTRY

from openmailer.adapters.settings import Settings
from tests.integration.accounts.accounts_helpers import session_for
from tests.integration.campaign_sending.send_helpers import (
    MemoryQueue,
    audience,
    drain,
    linked_template,
    sending_service,
)
from tests.integration.campaign_sending.worker_helpers import (
    RecordingHandler,
    Worker,
    start_recording_sink,
    wait_until,
    worker_env,
)
from tests.integration.campaigns.campaign_helpers import add_domain, create_campaign
from tests.integration.campaigns.conftest import World
from tests.integration.metrics.metrics_helpers import has, scrape, value
from tests.integration.sending.failover_helpers import smtp_provider_at
from tests.integration.sending.smtp_sink import CountingController, free_port

pytestmark = pytest.mark.integration
RECIPIENTS = 240
SEND_SPEED = 40  # per second: six seconds of sending, long enough to scrape during it


@pytest.fixture
def sink() -> Iterator[tuple[CountingController, RecordingHandler]]:
    controller, handler = start_recording_sink()
    yield controller, handler
    controller.stop()


async def _api_metrics(world: World) -> str:
    response = await world.client.get("/metrics")
    assert response.status_code == 200, response.text
    return response.text


async def _campaign(world: World, campaign_id: int) -> dict[str, object]:
    response = await world.client.get(
        f"/api/v1/campaigns/{campaign_id}", headers=world.owner.caller.headers
    )
    result: dict[str, object] = response.json()
    return result


def _wait_for_endpoint(url: str, worker: Worker, within: float = 60) -> str:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        assert worker.process.poll() is None, "the worker stopped"
        try:
            return scrape(url)
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("the worker's metrics endpoint never answered")


async def test_a_campaign_moves_the_figures_of_the_api_and_of_the_worker(
    world: World,
    accounts_settings: Settings,
    sink: tuple[CountingController, RecordingHandler],
    tmp_path: Path,
) -> None:
    controller, handler = sink
    port = free_port()
    env = worker_env(
        accounts_settings,
        OPENMAILER_CAMPAIGN_BATCH_SIZE="20",
        OPENMAILER_WORKER_METRICS_PORT=str(port),
        OPENMAILER_METRICS_DIR=str(tmp_path),
    )
    owner = world.owner
    admin = await session_for(world.accounts, owner.user)
    await smtp_provider_at(world.client, admin, controller.port, is_default=True)
    domain_id, domain = await add_domain(world.accounts, owner.user, verified=True)
    campaign = await create_campaign(
        world.client,
        owner.caller,
        template_id=await linked_template(world.engine, owner.user),
        list_id=await audience(world.engine, owner.user, RECIPIENTS),
        domain_id=domain_id,
        from_email=f"news@{domain}",
        send_speed=SEND_SPEED,
    )
    campaign_id = str(campaign["id"])
    url = f"http://127.0.0.1:{port}/metrics"
    worker = Worker(env, processes=2)
    try:
        before = await asyncio.to_thread(_wait_for_endpoint, url, worker)
        api_before = await _api_metrics(world)
        response = await world.client.post(
            f"/api/v1/campaigns/{campaign_id}/send", headers=owner.caller.headers
        )
        assert response.status_code == 202, response.text

        async def sending_and_partly_sent() -> bool:
            # two seconds of sending left at least, so the scrape still finds it SENDING
            body = await _campaign(world, int(campaign_id))
            sent = int(str(body["sent_count"]))
            return body["status"] == "SENDING" and SEND_SPEED <= sent <= RECIPIENTS - 2 * SEND_SPEED

        await wait_until(sending_and_partly_sent, within=60, step=0.1)
        during = await _api_metrics(world)

        async def finished() -> bool:
            return (await _campaign(world, int(campaign_id)))["status"] == "SENT"

        await wait_until(finished, within=120)
        after = await asyncio.to_thread(scrape, url)
        api_after = await _api_metrics(world)
    finally:
        worker.stop()

    # the API, while the campaign sent: its configured speed and how far it was
    speed = value(
        during, "openmailer_campaign_send_speed_messages_per_second", campaign_id=campaign_id
    )
    assert speed == SEND_SPEED
    sent_then = value(during, "openmailer_campaign_sent_recipients", campaign_id=campaign_id)
    assert SEND_SPEED <= sent_then <= RECIPIENTS
    # each lane's next message is queued before its current one is acknowledged
    assert value(during, "openmailer_queue_messages", queue="campaigns") >= 1
    # after: the campaign's final figures, and no longer a send speed to hold it to
    labels = {"campaign_id": campaign_id, "status": "SENT"}
    assert value(api_after, "openmailer_campaign_sent_recipients", **labels) == RECIPIENTS
    assert value(api_after, "openmailer_campaign_bounce_ratio", **labels) == 0
    assert not has(
        api_after, "openmailer_campaign_send_speed_messages_per_second", campaign_id=campaign_id
    )
    requests = "openmailer_http_request_duration_seconds_count"
    send_route = {
        "route": "/api/v1/campaigns/{campaign_id}/send",
        "method": "POST",
        "status": "202",
    }
    assert value(api_after, requests, **send_route) == value(api_before, requests, **send_route) + 1

    # the worker's own endpoint: both processes' samples summed into one answer
    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert handler.accepted == RECIPIENTS
    assert moved("openmailer_campaign_recipients_sent_total", provider_type="SMTP") == RECIPIENTS
    assert moved("openmailer_campaign_recipients_claimed_total") == RECIPIENTS
    assert (
        moved("openmailer_provider_recipients_total", provider_type="SMTP", outcome="accepted")
        == RECIPIENTS
    )
    batches = moved("openmailer_provider_send_duration_seconds_count", provider_type="SMTP")
    assert batches >= RECIPIENTS / 20
    done = moved("openmailer_worker_messages_total", actor="send_campaign_batch", outcome="done")
    assert done >= batches
    # the cluster-wide readings are the API's alone, not repeated by every worker
    assert not has(after, "openmailer_queue_messages")
    # the samples came from the worker processes' files in the directory named by the port
    kinds = {path.name.split("_")[0] for path in (tmp_path / f"worker-{port}").glob("*.db")}
    assert {"counter", "histogram"} <= kinds


async def test_a_campaign_without_providers_counts_its_sends_under_the_outbox(
    app: Litestar, world: World
) -> None:
    """In-process (the send path's own test driver): the batch sender reports each claim and
    each row's result, and with no provider the outbox is the type that answered."""
    owner = world.owner
    campaign = await create_campaign(
        world.client,
        owner.caller,
        template_id=await linked_template(world.engine, owner.user),
        list_id=await audience(world.engine, owner.user, 30),
        send_speed=10_000,
    )
    claimed = REGISTRY.get_sample_value("openmailer_campaign_recipients_claimed_total") or 0
    sent_name, outbox = "openmailer_campaign_recipients_sent_total", {"provider_type": "OUTBOX"}
    sent = REGISTRY.get_sample_value(sent_name, outbox) or 0
    response = await world.client.post(
        f"/api/v1/campaigns/{campaign['id']}/send", headers=owner.caller.headers
    )
    assert response.status_code == 202, response.text
    queue = MemoryQueue()
    service = sending_service(app, queue, campaign_batch_size=8)
    queue.start(owner.user.id, campaign["id"])
    await drain(service, queue)
    assert REGISTRY.get_sample_value("openmailer_campaign_recipients_claimed_total") == claimed + 30
    assert REGISTRY.get_sample_value(sent_name, outbox) == sent + 30
