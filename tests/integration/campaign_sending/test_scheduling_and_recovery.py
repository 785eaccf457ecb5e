"""The scheduler's and reconciler's side of the send path, in-process: expired leases become
possible duplicates and are sent again, due campaigns start once with two schedulers, the
send-speed bucket is shared, and retry-failed re-queues only transient failures."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar
from sqlalchemy import text

from openmailer.adapters.redis.send_throttle import RedisSendThrottle
from tests.integration.accounts.accounts_helpers import session_for
from tests.integration.campaign_sending.send_helpers import (
    MemoryQueue,
    add_members,
    audience,
    drain,
    linked_template,
    sending_service,
)
from tests.integration.campaigns.campaign_helpers import add_domain, create_campaign
from tests.integration.campaigns.conftest import World
from tests.integration.sending.failover_helpers import smtp_provider_at
from tests.integration.sending.smtp_sink import CountingController, start_sink

pytestmark = pytest.mark.integration


async def scalar(world: World, sql: str, **values: Any) -> Any:
    async with world.engine.connect() as conn:
        return await conn.scalar(text(sql), values)


async def read(world: World, campaign_id: int) -> dict[str, Any]:
    response = await world.client.get(
        f"/api/v1/campaigns/{campaign_id}", headers=world.owner.caller.headers
    )
    result: dict[str, Any] = response.json()
    return result


async def outbox_campaign(world: World, count: int, **fields: Any) -> int:
    owner = world.owner
    campaign = await create_campaign(
        world.client,
        owner.caller,
        template_id=await linked_template(world.engine, owner.user),
        list_id=await audience(world.engine, owner.user, count),
        send_speed=10_000,
        **fields,
    )
    return int(campaign["id"])


async def test_expired_leases_are_sent_again_and_recorded_as_possible_duplicates(
    app: Litestar, world: World
) -> None:
    cid, uid = await outbox_campaign(world, 30), world.owner.user.id
    await world.client.post(f"/api/v1/campaigns/{cid}/send", headers=world.owner.caller.headers)
    queue = MemoryQueue()
    service = sending_service(app, queue, campaign_batch_size=10)
    await service.prepare(uid, cid)
    queue.messages.clear()
    queue.active.clear()
    # a worker claims ten rows and dies before it sends them
    claim = await service.delivery.store.claim(uid, cid, limit=10, lease_seconds=0.05)
    assert len(claim.recipients) == 10
    await asyncio.sleep(0.2)
    assert cid in await service.reconcile()  # (other tests' campaigns may be woken too)
    flagged = await scalar(
        world,
        "SELECT count(*) FROM campaign_recipients "
        "WHERE campaign_id = :c AND possible_duplicate AND status = 'PENDING'",
        c=cid,
    )
    assert flagged == 10
    mine = [m for m in queue.messages if m[2] == cid]
    assert len(mine) == service.delivery.settings.lanes
    queue.messages.clear()
    queue.messages.extend(mine)
    await drain(service, queue)
    body = await read(world, cid)
    assert (body["status"], body["sent_count"]) == ("SENT", 30)
    # a reconciler that finds a worker on the campaign leaves it alone
    other = await outbox_campaign(world, 3)
    await world.client.post(f"/api/v1/campaigns/{other}/send", headers=world.owner.caller.headers)
    await service.prepare(uid, other)
    queue.messages.clear()
    assert other not in await service.reconcile()


async def test_a_due_scheduled_campaign_is_started_once_by_two_schedulers(
    app: Litestar, world: World
) -> None:
    cid = await outbox_campaign(world, 4)
    at = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    scheduled = await world.client.post(
        f"/api/v1/campaigns/{cid}/schedule",
        headers=world.owner.caller.headers,
        json={"scheduled_at": at},
    )
    assert scheduled.status_code == 200, scheduled.text
    queue = MemoryQueue()
    service = sending_service(app, queue)
    assert cid not in await service.start_due()
    async with world.engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE email_campaigns SET scheduled_at = timezone('UTC', now()) - "
                "interval '1 second' WHERE id = :c"
            ),
            {"c": cid},
        )
    first, second = await asyncio.gather(service.start_due(), service.start_due())
    assert sorted(first + second).count(cid) == 1
    assert [m[:3] for m in queue.messages if m[2] == cid] == [("start", world.owner.user.id, cid)]
    await drain(service, queue)
    assert (await read(world, cid))["status"] == "SENT"


async def test_the_send_speed_bucket_is_shared_and_refills_per_second(app: Litestar) -> None:
    throttle = RedisSendThrottle(app.state.resources.redis)
    campaign_id = 900_000_000 + id(throttle) % 1_000_000
    grants = await asyncio.gather(*[throttle.take(campaign_id, 5, 2) for _ in range(5)])
    assert sum(granted for granted, _ in grants) == 5  # one second of sends, not five batches
    granted, wait = await throttle.take(campaign_id, 5, 2)
    assert granted == 0 and 0 < wait <= 1 / 5
    await asyncio.sleep(0.5)
    granted, _ = await throttle.take(campaign_id, 5, 2)
    assert granted >= 2


@pytest.fixture
def relay() -> Iterator[CountingController]:
    controller = start_sink()
    yield controller
    controller.stop()


async def test_retry_failed_requeues_only_the_recipients_that_failed_transiently(
    app: Litestar, world: World, relay: CountingController
) -> None:
    owner = world.owner
    await smtp_provider_at(
        world.client, await session_for(world.accounts, owner.user), relay.port, is_default=True
    )
    domain_id, domain = await add_domain(world.accounts, owner.user, verified=True)
    list_id = await audience(world.engine, owner.user, 6, prefix="later")  # always 451
    await add_members(world.engine, owner.user, list_id, 4, prefix="reject")  # always 550
    await add_members(world.engine, owner.user, list_id, 5, prefix="fine")
    campaign = await create_campaign(
        world.client,
        owner.caller,
        template_id=owner.template_id,
        list_id=list_id,
        domain_id=domain_id,
        from_email=f"news@{domain}",
        max_retries=2,
    )
    cid = campaign["id"]
    sent = await world.client.post(f"/api/v1/campaigns/{cid}/send", headers=owner.caller.headers)
    assert sent.status_code == 202
    queue = MemoryQueue()
    service = sending_service(app, queue, campaign_retry_backoff=0.05)
    queue.start(owner.user.id, cid)
    await drain(service, queue)
    body = await read(world, cid)
    assert (body["status"], body["sent_count"], body["failed_count"]) == ("SENT", 5, 10)
    kinds = await scalar(
        world,
        "SELECT string_agg(failure || ':' || retry_count, ',' ORDER BY failure, retry_count) "
        "FROM campaign_recipients WHERE campaign_id = :c AND status = 'FAILED'",
        c=cid,
    )
    assert kinds == ",".join(["permanent:0"] * 4 + ["transient:2"] * 6)

    retried = await world.client.post(
        f"/api/v1/campaigns/{cid}/retry-failed", headers=owner.caller.headers
    )
    assert retried.status_code == 200, retried.text
    assert retried.json()["requeued"] == 6
    assert retried.json()["campaign"]["status"] == "SENDING"
    assert retried.json()["campaign"]["failed_count"] == 4
    queue.batch(owner.user.id, cid, lane=None)  # the API woke the lanes through the real broker
    await drain(service, queue)
    body = await read(world, cid)
    assert (body["status"], body["sent_count"], body["failed_count"]) == ("SENT", 5, 10)

    draft = await create_campaign(
        world.client, owner.caller, template_id=owner.template_id, list_id=list_id
    )
    refused = await world.client.post(
        f"/api/v1/campaigns/{draft['id']}/retry-failed", headers=owner.caller.headers
    )
    assert refused.status_code == 409 and refused.json()["code"] == "invalid_transition"
