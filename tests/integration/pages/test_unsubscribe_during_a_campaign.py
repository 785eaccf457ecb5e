"""An RFC 8058 one-click unsubscribe committed while campaigns are sending, end to end: the
real send path delivers through an SMTP provider to the SMTP sink, a mail client POSTs
`List-Unsubscribe=One-Click` to the List-Unsubscribe URL of a mail the sink received, and from
its answer on the contact gets nothing more — neither from a second campaign already running to
the same list (its row is skipped at the claim) nor from one started afterwards."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import text

from tests.integration.accounts.accounts_helpers import session_for
from tests.integration.campaign_sending.send_helpers import (
    MemoryQueue,
    audience,
    drain,
    linked_template,
    sending_service,
)
from tests.integration.campaigns.campaign_helpers import add_domain, create_campaign
from tests.integration.campaigns.conftest import World
from tests.integration.pages.pages_helpers import contact_row, memberships, unsubscribe_count
from tests.integration.sending.failover_helpers import smtp_provider_at
from tests.integration.sending.smtp_sink import CountingController, Received, start_sink

pytestmark = pytest.mark.integration
RECIPIENTS = 60
BATCH = 20
HTTPS_URL = re.compile(r"<(https?://[^>]+)>")


@pytest.fixture
def sink() -> Iterator[CountingController]:
    controller = start_sink()
    try:
        yield controller
    finally:
        controller.stop()


def received(sink: CountingController) -> list[Received]:
    return list(sink.scripted.received)


def one_click_url(mail: Received) -> str:
    message = email.message_from_bytes(mail.data, policy=email.policy.SMTP)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    found = HTTPS_URL.search(str(message["List-Unsubscribe"]))
    assert found is not None, message["List-Unsubscribe"]
    return found.group(1)


async def rows(world: World, sql: str, **values: Any) -> list[Any]:
    async with world.engine.connect() as conn:
        return list((await conn.execute(text(sql), values)).all())


async def started_campaign(world: World, fields: dict[str, Any]) -> int:
    template_id = await linked_template(world.engine, world.owner.user)
    campaign = await create_campaign(
        world.client, world.owner.caller, template_id=template_id, **fields
    )
    response = await world.client.post(
        f"/api/v1/campaigns/{campaign['id']}/send", headers=world.owner.caller.headers
    )
    assert response.status_code == 202, response.text
    return int(campaign["id"])


async def test_a_one_click_unsubscribe_during_the_send_stops_every_later_mail_to_the_contact(
    app: Litestar, world: World, sink: CountingController
) -> None:
    owner = world.owner
    uid = owner.user.id
    admin = await session_for(world.accounts, owner.user)  # providers need a session
    await smtp_provider_at(world.client, admin, sink.port, is_default=True)
    domain_id, domain = await add_domain(world.accounts, owner.user, verified=True)
    list_id = await audience(world.engine, owner.user, RECIPIENTS)
    fields = {
        "list_id": list_id,
        "domain_id": domain_id,
        "from_email": f"news@{domain}",
        "send_speed": 10_000,
    }
    # Two campaigns to the same list run at once; the second has not reached anyone yet.
    first = await started_campaign(world, fields)
    second = await started_campaign(world, fields)
    queue = MemoryQueue()
    service = sending_service(app, queue, campaign_batch_size=BATCH)
    await service.prepare(uid, first)
    await service.prepare(uid, second)
    await service.send_batch(uid, first)
    delivered = received(sink)
    assert len(delivered) == BATCH

    mail = delivered[0]
    (address,) = mail.recipients
    url = urlsplit(one_click_url(mail))
    (contact,) = await rows(
        world, "SELECT id FROM contacts WHERE user_id = :u AND email = :e", u=uid, e=address
    )
    # The mail client's POST: no cookie, no page (RFC 8058).
    transport = httpx.ASGITransport(app=app, client=("192.0.2.10", 40001))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as mailer:
        answer = await mailer.post(
            url.path,
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert answer.status_code == 200, answer.text
    answered_at = len(received(sink))

    queue.messages.clear()
    queue.batch(uid, first, lane=None)
    queue.batch(uid, second, lane=None)
    await drain(service, queue)
    after = received(sink)[answered_at:]
    assert not [m for m in after if address in m.recipients]
    # everyone else got both campaigns
    assert len(after) == 2 * RECIPIENTS - BATCH - 1
    shown = {
        cid: (
            await world.client.get(f"/api/v1/campaigns/{cid}", headers=owner.caller.headers)
        ).json()
        for cid in (first, second)
    }
    assert (shown[first]["status"], shown[first]["sent_count"]) == ("SENT", RECIPIENTS)
    assert (shown[second]["status"], shown[second]["sent_count"]) == ("SENT", RECIPIENTS - 1)
    skipped = await rows(
        world,
        "SELECT status, failure FROM campaign_recipients "
        "WHERE campaign_id = :c AND contact_id = :k",
        c=second,
        k=contact.id,
    )
    assert [(s.status, s.failure) for s in skipped] == [("FAILED", "skipped")]
    assert await unsubscribe_count(world.engine, first) == 1
    assert await unsubscribe_count(world.engine, second) == 0
    assert shown[first]["unsubscribe_count"] == 1
    unsubscribed = await contact_row(world.engine, contact.id)
    assert unsubscribed.status == "UNSUBSCRIBED" and unsubscribed.unsubscribed_at is not None
    assert await memberships(world.engine, contact.id) == {list_id: "REMOVED"}

    # A campaign to the same list started afterwards does not include the contact at all.
    third = await started_campaign(world, fields)
    await service.prepare(uid, third)
    materialised = await rows(
        world, "SELECT contact_id FROM campaign_recipients WHERE campaign_id = :c", c=third
    )
    assert len(materialised) == RECIPIENTS - 1
    assert contact.id not in {m.contact_id for m in materialised}
