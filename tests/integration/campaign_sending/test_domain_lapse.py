"""A sending domain whose verification lapses during a send (a re-check found its DNS records
gone) pauses the campaign: its mail goes neither to the provider, unverified, nor to the local
outbox, counted as sent. Verified again and resumed, it sends to everyone once."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from sqlalchemy import text

from openmailer.core.campaigns.services import control
from tests.integration.campaign_sending.reliability_helpers import Sink, smtp_campaign
from tests.integration.campaign_sending.send_helpers import MemoryQueue, drain, sending_service
from tests.integration.campaigns.conftest import World

pytestmark = pytest.mark.integration
RECIPIENTS = 30


async def figures(world: World, campaign_id: int) -> dict[str, Any]:
    async with world.engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT c.status, c.sent_count,"
                    " (SELECT count(*) FROM outbox_messages o WHERE o.user_id = c.created_by)"
                    " AS outbox,"
                    " (SELECT count(*) FROM email_logs l WHERE l.campaign_id = c.id) AS logs,"
                    " (SELECT count(*) FROM campaign_recipients r WHERE r.campaign_id = c.id"
                    " AND r.status = 'PENDING') AS pending"
                    " FROM email_campaigns c WHERE c.id = :c"
                ),
                {"c": campaign_id},
            )
        ).one()
    return dict(row._mapping)


async def set_domain_status(world: World, domain_id: int, status: str) -> None:
    async with world.engine.begin() as conn:
        await conn.execute(
            text("UPDATE domains SET status = :s WHERE id = :d"), {"s": status, "d": domain_id}
        )


async def test_a_domain_unverified_mid_send_pauses_the_campaign_and_diverts_nothing(
    app: Litestar, world: World, sink: Sink
) -> None:
    owner = world.owner
    cid, uid = await smtp_campaign(world, sink, RECIPIENTS), owner.user.id
    domain_id = (
        await world.client.get(f"/api/v1/campaigns/{cid}", headers=owner.caller.headers)
    ).json()["domain_id"]
    started = await world.client.post(f"/api/v1/campaigns/{cid}/send", headers=owner.caller.headers)
    assert started.status_code == 202, started.text  # the preflight saw the domain VERIFIED
    queue = MemoryQueue()
    service = sending_service(app, queue, campaign_batch_size=10)
    await service.prepare(uid, cid)  # materialised, the lanes woken
    await set_domain_status(world, domain_id, "FAILED")

    await drain(service, queue)
    assert await figures(world, cid) == {
        "status": "PAUSED",
        "sent_count": 0,
        "outbox": 0,
        "logs": 0,
        "pending": RECIPIENTS,
    }
    assert sink.handler.accepted == 0

    await set_domain_status(world, domain_id, "VERIFIED")
    resumed = await world.client.post(
        f"/api/v1/campaigns/{cid}/resume", headers=owner.caller.headers
    )
    assert resumed.status_code == 200, resumed.text
    control.wake(uid, cid, service.delivery)  # (the API's resume woke the real broker's lanes)
    await drain(service, queue)
    assert await figures(world, cid) == {
        "status": "SENT",
        "sent_count": RECIPIENTS,
        "outbox": 0,
        "logs": RECIPIENTS,
        "pending": 0,
    }
    assert sink.handler.accepted == RECIPIENTS
