"""Complaint-rate protection end to end: a campaign of 1,200 recipients sent through the real
send path by a SendGrid provider (the tests' SendGrid API peer, whose X-Message-Ids the send
records as provider message ids), driven batch by batch in-process so that it is still SENDING
when complaints for its delivered mail are posted, signed, to the provider's Event Webhook and
processed by the events worker's code: the complaint that takes the rate to 0.3% pauses it with
the reason recorded, the complained contacts become COMPLAINED, and after a resume (which clears
the reason) nothing more is sent to them, in this campaign or the next."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Litestar
from sqlalchemy import text

from openmailer.core.events.policy import COMPLAINT_MIN_SAMPLE
from openmailer.core.events.service import EventsService
from tests.integration.campaign_sending.send_helpers import (
    MemoryQueue,
    audience,
    drain,
    linked_template,
    sending_service,
)
from tests.integration.campaigns.campaign_helpers import add_domain, create_campaign
from tests.integration.campaigns.conftest import World
from tests.integration.sending.sendgrid_peer import API_KEY, SendgridServer
from tests.integration.webhooks.webhook_helpers import add_provider, stored_events
from tests.webhook_signing import SendgridSigner, sendgrid_event

pytestmark = pytest.mark.integration
RECIPIENTS = 1200
BATCH = 100
# Sent when the complaints arrive: past the minimum sample, with 100 recipients still to go.
SENT_BEFORE_COMPLAINTS = 1100


@pytest.fixture
def sendgrid() -> Iterator[SendgridServer]:
    server = SendgridServer().start()
    try:
        yield server
    finally:
        server.stop()


async def rows(world: World, sql: str, **values: Any) -> list[Any]:
    async with world.engine.connect() as conn:
        return list((await conn.execute(text(sql), values)).all())


async def shown(world: World, campaign_id: int) -> dict[str, Any]:
    response = await world.client.get(
        f"/api/v1/campaigns/{campaign_id}", headers=world.owner.caller.headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def post_and_process(
    app: Litestar,
    world: World,
    provider: dict[str, Any],
    signer: SendgridSigner,
    batch: list[dict[str, Any]],
) -> None:
    """One signed Event Webhook request, then what the worker its answer woke does."""
    body = json.dumps(batch).encode()
    answer = await world.client.post(
        provider["webhook_path"], content=body, headers=signer.headers(body)
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["stored"] == len(batch)
    pending = [e.id for e in await stored_events(world.engine, provider["id"]) if not e.processed]
    events: EventsService = app.state.services["events"]
    assert await events.process_many(pending) == len(pending)


def mailed_to(sendgrid: SendgridServer) -> Counter[str]:
    return Counter(
        to["email"]
        for body in sendgrid.accepted
        for personalization in body["personalizations"]
        for to in personalization["to"]
    )


async def test_complaints_past_the_limit_pause_a_sending_campaign_and_are_never_mailed_again(
    app: Litestar, world: World, sendgrid: SendgridServer, sendgrid_signer: SendgridSigner
) -> None:
    owner = world.owner
    uid = owner.user.id
    provider = await add_provider(
        world.client,
        owner.caller,
        "SENDGRID",
        {
            "api_key": API_KEY,
            "base_url": sendgrid.url,
            "webhook_verification_key": sendgrid_signer.public_key,
        },
    )
    domain_id, domain = await add_domain(world.accounts, owner.user, verified=True)
    list_id = await audience(world.engine, owner.user, RECIPIENTS)
    template_id = await linked_template(world.engine, owner.user)
    fields = {
        "template_id": template_id,
        "list_id": list_id,
        "domain_id": domain_id,
        "from_email": f"news@{domain}",
        "provider_id": provider["id"],
        "send_speed": 10_000,
    }
    cid = (await create_campaign(world.client, owner.caller, **fields))["id"]
    started = await world.client.post(f"/api/v1/campaigns/{cid}/send", headers=owner.caller.headers)
    assert started.status_code == 202, started.text

    queue = MemoryQueue()
    service = sending_service(app, queue, campaign_batch_size=BATCH)
    await service.prepare(uid, cid)
    for _ in range(SENT_BEFORE_COMPLAINTS // BATCH):
        await service.send_batch(uid, cid)
    before = await shown(world, cid)
    assert (before["status"], before["sent_count"]) == ("SENDING", SENT_BEFORE_COMPLAINTS)
    assert len(sendgrid.accepted) == SENT_BEFORE_COMPLAINTS
    assert SENT_BEFORE_COMPLAINTS >= COMPLAINT_MIN_SAMPLE

    logs = await rows(
        world,
        "SELECT l.recipient_email, l.provider_message_id, r.contact_id "
        "FROM email_logs l JOIN campaign_recipients r ON r.id = l.recipient_id "
        "WHERE l.campaign_id = :c ORDER BY l.id",
        c=cid,
    )
    assert len(logs) == SENT_BEFORE_COMPLAINTS
    assert all(log.provider_message_id.startswith("sg-") for log in logs)
    complainers, delivered = logs[:4], logs[4:24]

    # 3 of 1,100 (0.27%): a warning, no pause. The batch carries deliveries, as SendGrid's do.
    await post_and_process(
        app,
        world,
        provider,
        sendgrid_signer,
        [
            sendgrid_event("spamreport", c.recipient_email, c.provider_message_id)
            for c in complainers[:3]
        ]
        + [
            sendgrid_event("delivered", d.recipient_email, d.provider_message_id) for d in delivered
        ],
    )
    warned = await shown(world, cid)
    assert (warned["status"], warned["complaint_count"], warned["complaint_health"]) == (
        "SENDING",
        3,
        "warning",
    )
    assert warned["pause_reason"] is None

    # The fourth (0.36%) crosses 0.3%: the campaign pauses itself.
    fourth = complainers[3]
    await post_and_process(
        app,
        world,
        provider,
        sendgrid_signer,
        [sendgrid_event("spamreport", fourth.recipient_email, fourth.provider_message_id)],
    )
    paused = await shown(world, cid)
    assert (paused["status"], paused["complaint_count"], paused["complaint_health"]) == (
        "PAUSED",
        4,
        "over_limit",
    )
    assert "0.36%" in paused["pause_reason"] and "4 of 1100" in paused["pause_reason"]
    contacts = await rows(
        world,
        "SELECT status, complaint_count FROM contacts WHERE id = ANY(:ids)",
        ids=[c.contact_id for c in complainers],
    )
    assert [(c.status, c.complaint_count) for c in contacts] == [("COMPLAINED", 1)] * 4
    states = await rows(
        world,
        "SELECT status, count(*) AS n FROM campaign_recipients WHERE campaign_id = :c "
        "GROUP BY status ORDER BY status",
        c=cid,
    )
    assert [(s.status, s.n) for s in states] == [
        ("DELIVERED", len(delivered)),
        ("PENDING", RECIPIENTS - SENT_BEFORE_COMPLAINTS),
        ("SENT", SENT_BEFORE_COMPLAINTS - len(delivered)),
    ]

    # A lane woken while paused claims nothing.
    await service.send_batch(uid, cid)
    assert len(sendgrid.accepted) == SENT_BEFORE_COMPLAINTS

    resumed = await world.client.post(
        f"/api/v1/campaigns/{cid}/resume", headers=owner.caller.headers
    )
    assert resumed.status_code == 200, resumed.text
    assert (resumed.json()["status"], resumed.json()["pause_reason"]) == ("SENDING", None)
    stored = await rows(world, "SELECT pause_reason FROM email_campaigns WHERE id = :c", c=cid)
    assert stored[0].pause_reason is None
    # (the API's resume woke the lanes through the real broker; this test drives its own)
    queue.messages.clear()
    queue.batch(uid, cid, lane=None)
    await drain(service, queue)
    final = await shown(world, cid)
    assert (final["status"], final["sent_count"]) == ("SENT", RECIPIENTS)
    mailed = mailed_to(sendgrid)
    assert len(mailed) == RECIPIENTS and set(mailed.values()) == {1}

    # The next campaign to the same list leaves the complained contacts out.
    fields["template_id"] = await linked_template(world.engine, owner.user)
    next_id = (await create_campaign(world.client, owner.caller, **fields))["id"]
    again = await world.client.post(
        f"/api/v1/campaigns/{next_id}/send", headers=owner.caller.headers
    )
    assert again.status_code == 202, again.text
    await service.prepare(uid, next_id)
    materialised = await rows(
        world, "SELECT contact_id FROM campaign_recipients WHERE campaign_id = :c", c=next_id
    )
    assert len(materialised) == RECIPIENTS - len(complainers)
    assert not {m.contact_id for m in materialised} & {c.contact_id for c in complainers}
