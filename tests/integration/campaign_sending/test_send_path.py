"""The send path in-process on real PostgreSQL and Redis: start (202, one winner of two),
preparation (links, recipients), leased batches to the outbox, results, counters and logs,
pause/resume, an unsubscribe during the send, the monthly limit, retries and retry-failed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from litestar import Litestar
from sqlalchemy import text

from openmailer.core.campaigns.services import control
from tests.integration.accounts.accounts_helpers import api_key_for
from tests.integration.campaign_sending.send_helpers import (
    MemoryQueue,
    audience,
    drain,
    linked_template,
    sending_service,
)
from tests.integration.campaigns.campaign_helpers import SCOPES, create_campaign
from tests.integration.campaigns.conftest import World

pytestmark = pytest.mark.integration


async def rows(world: World, sql: str, **values: Any) -> list[Any]:
    async with world.engine.connect() as conn:
        return list((await conn.execute(text(sql), values)).all())


async def started(world: World, count: int = 0, **fields: Any) -> tuple[dict[str, Any], int]:
    owner = world.owner
    list_id = await audience(world.engine, owner.user, count) if count else fields.pop("list_id")
    template_id = await linked_template(world.engine, owner.user)
    campaign = await create_campaign(
        world.client, owner.caller, template_id=template_id, list_id=list_id, **fields
    )
    response = await world.client.post(
        f"/api/v1/campaigns/{campaign['id']}/send", headers=owner.caller.headers
    )
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "SENDING"
    return response.json(), list_id


async def test_a_campaign_is_sent_to_every_recipient_once_through_the_outbox(
    app: Litestar, world: World
) -> None:
    campaign, _ = await started(world, 230, send_speed=10_000)
    cid, uid = campaign["id"], world.owner.user.id
    queue = MemoryQueue()
    service = sending_service(app, queue, campaign_batch_size=40)
    queue.start(uid, cid)
    runs = await drain(service, queue)
    assert runs >= 230 // 40

    final = await world.client.get(f"/api/v1/campaigns/{cid}", headers=world.owner.caller.headers)
    body = final.json()
    assert (body["status"], body["total_recipients"], body["sent_count"], body["failed_count"]) == (
        "SENT",
        230,
        230,
        0,
    )
    assert body["template_version"] == 1
    states = await rows(
        world,
        "SELECT status, count(*) FROM campaign_recipients WHERE campaign_id = :c GROUP BY status",
        c=cid,
    )
    assert states == [("SENT", 230)]
    outbox = await rows(
        world,
        "SELECT recipient_email, message_id FROM outbox_messages WHERE campaign_id = :c",
        c=cid,
    )
    assert len(outbox) == 230 and len({r.recipient_email for r in outbox}) == 230
    tracking = await rows(
        world, "SELECT tracking_id FROM campaign_recipients WHERE campaign_id = :c", c=cid
    )
    assert {r.message_id.split(".")[0].lstrip("<") for r in outbox} == {
        r.tracking_id for r in tracking
    }
    logs = await rows(
        world,
        "SELECT recipient_id, status, email_type FROM email_logs WHERE campaign_id = :c",
        c=cid,
    )
    assert len(logs) == 230 and {(r.status, r.email_type) for r in logs} == {("SENT", "CAMPAIGN")}
    assert len({r.recipient_id for r in logs}) == 230
    links = await rows(
        world,
        "SELECT link_index, original_url, short_code FROM campaign_links "
        "WHERE campaign_id = :c ORDER BY link_index",
        c=cid,
    )
    assert [r.original_url for r in links] == ["https://example.org/one", "https://example.org/two"]
    assert all(len(r.short_code) == 8 and r.short_code.isalnum() for r in links)
    # unsubscribe headers carry the signed token of the recipient
    raw = (
        await rows(
            world, "SELECT raw_message FROM outbox_messages WHERE campaign_id = :c LIMIT 1", c=cid
        )
    )[0].raw_message
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click" in raw
    assert b"/u/" in raw


async def test_two_concurrent_starts_send_once(world: World) -> None:
    owner = world.owner
    list_id = await audience(world.engine, owner.user, 5)
    campaign = await create_campaign(
        world.client, owner.caller, template_id=owner.template_id, list_id=list_id
    )
    url = f"/api/v1/campaigns/{campaign['id']}/send"
    answers = await asyncio.gather(
        *[world.client.post(url, headers=owner.caller.headers) for _ in range(4)]
    )
    codes = sorted(a.status_code for a in answers)
    assert codes == [202, 409, 409, 409]
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"invalid_transition"}


async def test_pause_stops_claims_and_resume_continues_exactly_where_it_was(
    app: Litestar, world: World
) -> None:
    campaign, _ = await started(world, 120, send_speed=10_000)
    cid, uid = campaign["id"], world.owner.user.id
    headers = world.owner.caller.headers
    queue = MemoryQueue()
    service = sending_service(app, queue, campaign_batch_size=10)
    await service.prepare(uid, cid)
    for _ in range(5):
        queue.messages.clear()
        await service.send_batch(uid, cid)
        paused = await world.client.post(f"/api/v1/campaigns/{cid}/pause", headers=headers)
        assert paused.status_code == 200 and paused.json()["status"] == "PAUSED"
        sent_before = paused.json()["sent_count"]
        await service.send_batch(uid, cid)  # a lane woken while paused claims nothing
        again = await world.client.get(f"/api/v1/campaigns/{cid}", headers=headers)
        assert again.json()["sent_count"] == sent_before
        resumed = await world.client.post(f"/api/v1/campaigns/{cid}/resume", headers=headers)
        assert resumed.status_code == 200 and resumed.json()["status"] == "SENDING"
    # (the API's resume woke the lanes through the real broker; this test drives its own)
    queue.batch(uid, cid, lane=None)
    await drain(service, queue)
    outbox = await rows(
        world,
        "SELECT recipient_email, count(*) AS n FROM outbox_messages WHERE campaign_id = :c "
        "GROUP BY recipient_email",
        c=cid,
    )
    assert len(outbox) == 120 and {r.n for r in outbox} == {1}
    final = await world.client.get(f"/api/v1/campaigns/{cid}", headers=headers)
    assert (final.json()["status"], final.json()["sent_count"]) == ("SENT", 120)


async def test_a_campaign_woken_again_and_again_keeps_one_chain_per_lane(
    app: Litestar, world: World
) -> None:
    """Resumes and retries wake every lane anew; where a lane's chain still runs, the new chain
    ends at its first run, so the campaign never sends with more chains than lanes."""
    campaign, _ = await started(world, 400, send_speed=10_000)
    cid, uid = campaign["id"], world.owner.user.id
    queue = MemoryQueue()
    service = sending_service(app, queue, campaign_batch_size=5, campaign_lanes=3)
    lanes = service.delivery.settings.lanes
    assert lanes == 3  # OPENMAILER_CAMPAIGN_LANES, not the default
    await service.prepare(uid, cid)  # wakes every lane once
    for _ in range(3):  # three more wake-ups, as three pause/resume pairs would make
        control.wake(uid, cid, service.delivery)
    assert len(queue.messages) == 4 * lanes

    async def one_round() -> set[Any]:
        """Runs every queued run once; the chains that go on."""
        taken = list(queue.messages)
        queue.messages.clear()
        for _, user_id, campaign_id, _, lane in taken:
            await service.send_batch(user_id, campaign_id, lane)
        return {lane for *_, lane in queue.messages}

    for _ in range(3):
        chains = await one_round()
        assert len(queue.messages) == lanes and len(chains) == lanes
        assert {lane.index for lane in chains if lane is not None} == set(range(lanes))
    # paused, the chains end and give their places up: a resume's new chains start at once
    headers = world.owner.caller.headers
    assert (await world.client.post(f"/api/v1/campaigns/{cid}/pause", headers=headers)).is_success
    assert await one_round() == set()
    assert (await world.client.post(f"/api/v1/campaigns/{cid}/resume", headers=headers)).is_success
    control.wake(uid, cid, service.delivery)  # (the API's resume woke the real broker's lanes)
    resumed = await one_round()
    assert len(resumed) == lanes and not resumed & chains
    await drain(service, queue)
    final = await world.client.get(f"/api/v1/campaigns/{cid}", headers=world.owner.caller.headers)
    assert (final.json()["status"], final.json()["sent_count"]) == ("SENT", 400)


async def test_an_unsubscribe_committed_during_the_send_is_never_claimed_after(
    app: Litestar, world: World
) -> None:
    campaign, _ = await started(world, 60, send_speed=10_000)
    cid, uid = campaign["id"], world.owner.user.id
    queue = MemoryQueue()
    service = sending_service(app, queue, campaign_batch_size=20)
    await service.prepare(uid, cid)
    await service.send_batch(uid, cid)  # the first 20 (id order) are sent
    gone = await rows(
        world,
        "SELECT c.email FROM campaign_recipients r JOIN contacts c ON c.id = r.contact_id "
        "WHERE r.campaign_id = :c AND r.status = 'PENDING' ORDER BY r.id DESC LIMIT 7",
        c=cid,
    )
    async with world.engine.begin() as conn:
        await conn.execute(
            text("UPDATE contacts SET status = 'UNSUBSCRIBED' WHERE email = ANY(:emails)"),
            {"emails": [r.email for r in gone]},
        )
    await drain(service, queue)
    sent = {
        r.recipient_email
        for r in await rows(
            world, "SELECT recipient_email FROM outbox_messages WHERE campaign_id = :c", c=cid
        )
    }
    assert len(sent) == 53 and not sent & {r.email for r in gone}
    skipped = await rows(
        world,
        "SELECT status, failure, error_message FROM campaign_recipients "
        "WHERE campaign_id = :c AND status = 'FAILED'",
        c=cid,
    )
    assert len(skipped) == 7
    assert {(r.failure, r.error_message) for r in skipped} == {
        ("skipped", "skipped: the contact is UNSUBSCRIBED")
    }
    final = await world.client.get(f"/api/v1/campaigns/{cid}", headers=world.owner.caller.headers)
    assert (final.json()["status"], final.json()["sent_count"], final.json()["failed_count"]) == (
        "SENT",
        53,
        0,
    )


async def test_the_monthly_limit_counts_each_send_sends_what_it_has_room_for_then_pauses(
    app: Litestar, world: World
) -> None:
    campaign, _ = await started(world, 30, send_speed=10_000)
    cid, user = campaign["id"], world.owner.user
    async with world.engine.begin() as conn:
        before = await conn.scalar(
            text("SELECT monthly_emails_sent FROM users WHERE id = :u"), {"u": user.id}
        )
    queue = MemoryQueue()
    service = sending_service(app, queue, campaign_batch_size=20)
    await service.prepare(user.id, cid)
    await service.send_batch(user.id, cid)
    async with world.engine.begin() as conn:
        after = await conn.scalar(
            text("SELECT monthly_emails_sent FROM users WHERE id = :u"), {"u": user.id}
        )
        assert after == (before or 0) + 20
        # someone else's sends used up all but 4 of the month meanwhile
        await conn.execute(
            text("UPDATE users SET monthly_emails_sent = monthly_email_limit - 4 WHERE id = :u"),
            {"u": user.id},
        )

    async def state() -> tuple[str, int, int]:
        body = (
            await world.client.get(f"/api/v1/campaigns/{cid}", headers=world.owner.caller.headers)
        ).json()
        pending = await rows(
            world,
            "SELECT count(*) AS n FROM campaign_recipients "
            "WHERE campaign_id = :c AND status = 'PENDING'",
            c=cid,
        )
        return body["status"], body["sent_count"], pending[0].n

    # the batch sends the 4 it has room for; the other 6 it claimed are PENDING again
    await service.send_batch(user.id, cid)
    assert await state() == ("SENDING", 24, 6)
    async with world.engine.begin() as conn:
        assert (
            await conn.scalar(
                text("SELECT monthly_email_limit - monthly_emails_sent FROM users WHERE id = :u"),
                {"u": user.id},
            )
            == 0
        )
    # no room left: the next run pauses the campaign and claims nobody
    await service.send_batch(user.id, cid)
    assert await state() == ("PAUSED", 24, 6)


async def test_a_test_key_campaign_reaches_only_the_outbox_and_test_sends_are_not_recipients(
    app: Litestar, world: World
) -> None:
    owner = world.owner
    test_caller = await api_key_for(world.accounts, owner.user, SCOPES, test=True)
    list_id = await audience(world.engine, owner.user, 3)
    campaign = await create_campaign(
        world.client, test_caller, template_id=owner.template_id, list_id=list_id
    )
    cid = campaign["id"]
    tested = await world.client.post(
        f"/api/v1/campaigns/{cid}/test",
        headers=test_caller.headers,
        json={"emails": ["me@example.com", "you@example.com"]},
    )
    assert tested.status_code == 200, tested.text
    assert [(r["email"], r["status"], r["outbox"]) for r in tested.json()["results"]] == [
        ("me@example.com", "accepted", True),
        ("you@example.com", "accepted", True),
    ]
    assert (
        await rows(world, "SELECT id FROM campaign_recipients WHERE campaign_id = :c", c=cid) == []
    )
    too_many = await world.client.post(
        f"/api/v1/campaigns/{cid}/test",
        headers=test_caller.headers,
        json={"emails": [f"a{i}@example.com" for i in range(11)]},
    )
    assert too_many.status_code == 400 or too_many.status_code == 422
    sent = await world.client.post(f"/api/v1/campaigns/{cid}/send", headers=test_caller.headers)
    assert sent.status_code == 202
    flag = await rows(world, "SELECT outbox_only FROM email_campaigns WHERE id = :c", c=cid)
    assert flag[0].outbox_only is True
