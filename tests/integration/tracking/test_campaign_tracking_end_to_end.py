"""Issue 12 end to end: a campaign with tracked opens and clicks goes through the real send path
to an SMTP sink; the pixel and the links of the mails the sink received are fetched through the
app's public routes as a reader's browser, Apple Mail Privacy Protection, Google's image proxy
and link scanners would; the buffer is drained by the real drain; then every table and the
statistics are checked, the statistics against figures recounted from the rows."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import text

from tests.integration.accounts.accounts_helpers import api_key_for, session_for
from tests.integration.campaign_sending.send_helpers import (
    MemoryQueue,
    audience,
    drain,
    linked_template,
    sending_service,
)
from tests.integration.campaigns.campaign_helpers import add_domain, create_campaign
from tests.integration.campaigns.conftest import World
from tests.integration.sending.failover_helpers import smtp_provider_at
from tests.integration.sending.smtp_sink import CountingController, start_sink
from tests.integration.tracking.campaign_mail_helpers import (
    TrackedMail,
    recount_stats,
    tracked_mail,
    tracking_clock,
)
from tests.integration.tracking.tracking_helpers import BROWSER, drain_buffer

pytestmark = pytest.mark.integration

RECIPIENTS = 36
LINKS = ["https://example.org/one", "https://example.org/two"]


@dataclass(frozen=True)
class Visitor:
    """Who fetches: from where, saying what, how long after the send, and whether a machine."""

    ip: str
    user_agent: str
    after: timedelta
    machine: bool


READER = Visitor("198.51.100.7", BROWSER, timedelta(minutes=5), machine=False)
APPLE_MPP = Visitor("17.58.63.1", "Mozilla/5.0", timedelta(seconds=1), machine=True)
GOOGLE_PROXY = Visitor(
    "66.249.84.10",
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
    timedelta(minutes=3),
    machine=True,
)
# A receiving gateway's scanner: a browser's user agent, but within seconds of the delivery.
FAST_SCANNER = Visitor("203.0.113.9", BROWSER, timedelta(seconds=2), machine=True)
NAMED_SCANNER = Visitor(
    "203.0.113.10",
    "Mozilla/5.0 (compatible; Proofpoint URL Defense)",
    timedelta(minutes=1),
    machine=True,
)


@dataclass(frozen=True)
class Fetch:
    mail: int  # position of the recipient, in recipient id order
    link: int | None  # None: the pixel
    visitor: Visitor


def scenario() -> list[Fetch]:
    """36 recipients: 12 readers, 6 behind Apple MPP (3 of them read later), 6 behind Google's
    proxy, 6 behind link scanners (2 of them click later themselves), 6 who do nothing."""
    plan: list[Fetch] = []
    for i in range(12):
        plan.append(Fetch(i, None, READER))
        if i % 3 == 0:
            plan.append(Fetch(i, None, READER))  # opened twice
        if i < 8:
            plan.append(Fetch(i, 0, READER))
        if i % 4 == 0:
            plan.append(Fetch(i, 1, READER))
    plan.append(Fetch(0, 0, READER))  # the first reader clicks the first link again
    for i in range(12, 18):
        plan.append(Fetch(i, None, APPLE_MPP))
        if i < 15:
            plan += [Fetch(i, None, READER), Fetch(i, 1, READER)]
    plan += [Fetch(i, None, GOOGLE_PROXY) for i in range(18, 24)]
    for i in range(24, 30):
        scanner = FAST_SCANNER if i < 28 else NAMED_SCANNER
        plan += [Fetch(i, None, scanner), Fetch(i, 0, scanner), Fetch(i, 1, scanner)]
        if i < 26:
            plan.append(Fetch(i, 0, READER))
    return plan


@pytest.fixture
def relay() -> Iterator[CountingController]:
    controller = start_sink()
    yield controller
    controller.stop()


async def send_to_sink(app: Litestar, world: World, relay: CountingController) -> int:
    """A campaign of RECIPIENTS contacts with 2 tracked links, sent in-process through the
    owner's SMTP provider (the sink) like the send-path tests do."""
    owner = world.owner
    await smtp_provider_at(
        world.client, await session_for(world.accounts, owner.user), relay.port, is_default=True
    )
    domain_id, domain = await add_domain(world.accounts, owner.user, verified=True)
    campaign = await create_campaign(
        world.client,
        owner.caller,
        template_id=await linked_template(world.engine, owner.user),
        list_id=await audience(world.engine, owner.user, RECIPIENTS),
        domain_id=domain_id,
        from_email=f"news@{domain}",
        track_opens=True,
        track_clicks=True,
        send_speed=10_000,
    )
    cid = int(campaign["id"])
    started = await world.client.post(f"/api/v1/campaigns/{cid}/send", headers=owner.caller.headers)
    assert started.status_code == 202, started.text
    queue = MemoryQueue()
    service = sending_service(app, queue, campaign_batch_size=10)
    queue.start(owner.user.id, cid)
    await drain(service, queue)
    return cid


async def rows(world: World, sql: str, campaign_id: int) -> list[Any]:
    async with world.engine.connect() as conn:
        return list((await conn.execute(text(sql), {"c": campaign_id})).all())


def naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


async def test_a_sent_campaign_tracked_through_its_mails_agrees_in_every_table_and_the_stats(
    app: Litestar, client: httpx.AsyncClient, world: World, relay: CountingController
) -> None:
    cid = await send_to_sink(app, world, relay)
    recipients = await rows(
        world,
        "SELECT r.id, r.status, r.sent_at, c.email FROM campaign_recipients r"
        " JOIN contacts c ON c.id = r.contact_id WHERE r.campaign_id = :c ORDER BY r.id",
        cid,
    )
    assert len(recipients) == RECIPIENTS and {r.status for r in recipients} == {"SENT"}
    links = await rows(
        world,
        "SELECT id, link_index, original_url FROM campaign_links WHERE campaign_id = :c"
        " ORDER BY link_index",
        cid,
    )
    assert [link.original_url for link in links] == LINKS

    # The mails as the sink received them: one per recipient, every link rewritten.
    base_url = app.state.resources.settings.base_url
    received = relay.scripted.received
    assert len(received) == RECIPIENTS
    by_address: dict[str, TrackedMail] = {}
    for message in received:
        mail = tracked_mail(message, base_url)
        assert mail.recipient not in by_address
        assert len(mail.clicks) == 2 and not any(url in mail.html for url in LINKS)
        by_address[mail.recipient] = mail
    mails = [by_address[r.email] for r in recipients]

    # Every fetch through the public routes, each on the clock of its visitor.
    plan = scenario()
    transports: dict[str, httpx.AsyncClient] = {}
    try:
        with tracking_clock(app, datetime.now(UTC)) as clock:
            for fetch in sorted(plan, key=lambda f: f.visitor.after):
                visitor = fetch.visitor
                if visitor.ip not in transports:
                    transport = httpx.ASGITransport(app=app, client=(visitor.ip, 51000))
                    transports[visitor.ip] = httpx.AsyncClient(
                        transport=transport, base_url="http://testserver"
                    )
                clock.moment = recipients[fetch.mail].sent_at.replace(tzinfo=UTC) + visitor.after
                mail = mails[fetch.mail]
                path = mail.pixel if fetch.link is None else mail.clicks[fetch.link]
                response = await transports[visitor.ip].get(
                    path, headers={"User-Agent": visitor.user_agent}
                )
                if fetch.link is None:
                    assert response.status_code == 200
                    assert response.headers["content-type"] == "image/gif"
                else:
                    # only ever to the URL the campaign recorded for that link
                    assert response.status_code == 302, response.text
                    assert response.headers["location"] == links[fetch.link].original_url
            steered = await transports[READER.ip].get(
                mails[0].clicks[1] + "?url=https://evil.example&next=https://evil.example",
                headers={"User-Agent": BROWSER, "Host": "evil.example"},
            )
            assert steered.status_code == 302 and steered.headers["location"] == LINKS[1]
            plan.append(Fetch(0, 1, READER))  # (that was a click of the second link too)
            crossed = (
                mails[1].clicks[0].rsplit(".", 1)[0] + "." + mails[0].clicks[0].rsplit(".", 1)[1]
            )
            refused = await transports[READER.ip].get(crossed, headers={"User-Agent": BROWSER})
            assert refused.status_code == 404 and "location" not in refused.headers
    finally:
        for transport_client in transports.values():
            await transport_client.aclose()

    await drain_buffer(app)  # the worker's drain: stream -> handlers -> PostgreSQL

    # What each recipient's row must say, derived from the plan alone.
    expected: dict[int, Counter[str]] = defaultdict(Counter)
    first: dict[tuple[int, str], datetime] = {}
    for fetch in plan:
        kind = "open" if fetch.link is None else "click"
        column = ("machine_" if fetch.visitor.machine else "") + kind + "_count"
        expected[fetch.mail][column] += 1
        if not fetch.visitor.machine:
            moment = naive(recipients[fetch.mail].sent_at.replace(tzinfo=UTC) + fetch.visitor.after)
            first[(fetch.mail, kind)] = min(first.get((fetch.mail, kind), moment), moment)
    columns = ("open_count", "click_count", "machine_open_count", "machine_click_count")
    after = await rows(
        world, "SELECT * FROM campaign_recipients WHERE campaign_id = :c ORDER BY id", cid
    )
    for position, row in enumerate(after):
        wanted = expected[position]
        assert tuple(row._mapping[c] or 0 for c in columns) == tuple(wanted[c] for c in columns)
        assert row.opened_at == first.get((position, "open"))
        assert row.clicked_at == first.get((position, "click"))
        status = (
            "CLICKED" if wanted["click_count"] else "OPENED" if wanted["open_count"] else "SENT"
        )
        assert row.status == status, position
    statuses = Counter(row.status for row in after)
    assert statuses == {"CLICKED": 14, "OPENED": 3, "SENT": 19}

    clicks = await rows(
        world,
        "SELECT recipient_id, link_id, ip_address, user_agent, is_machine FROM campaign_clicks"
        " WHERE campaign_id = :c",
        cid,
    )
    assert Counter(tuple(c) for c in clicks) == Counter(
        (
            recipients[f.mail].id,
            links[f.link].id,
            f.visitor.ip,
            f.visitor.user_agent,
            f.visitor.machine,
        )
        for f in plan
        if f.link is not None
    )
    human_clicks = [f for f in plan if f.link is not None and not f.visitor.machine]
    link_rows = await rows(
        world,
        "SELECT click_count, unique_click_count FROM campaign_links WHERE campaign_id = :c"
        " ORDER BY link_index",
        cid,
    )
    assert (
        [tuple(link) for link in link_rows]
        == [
            (
                sum(1 for f in human_clicks if f.link == index),
                len({f.mail for f in human_clicks if f.link == index}),
            )
            for index in range(2)
        ]
        == [(11, 10), (7, 6)]
    )
    (rates,) = await rows(
        world, "SELECT open_rate, click_rate FROM email_campaigns WHERE id = :c", cid
    )
    # 15 of 36 opened (12 readers, 3 behind Apple MPP); 14 clicked (9 readers, 3, 2 scanned)
    assert (float(rates.open_rate), float(rates.click_rate)) == (41.67, 38.89)

    caller = await api_key_for(world.accounts, world.owner.user, ["read:analytics"])
    response = await client.get(f"/api/v1/campaigns/{cid}/stats", headers=caller.headers)
    assert response.status_code == 200, response.text
    stats = response.json()
    for point in stats["series"]:
        point["hour"] = datetime.fromisoformat(point["hour"].replace("Z", "+00:00"))
    recounted = await recount_stats(world.engine, cid)
    assert stats == recounted
    assert stats["human"] == {"opened": 15, "clicked": 14, "opens": 19, "clicks": 18}
    assert stats["machine"] == {"opened": 18, "clicked": 6, "opens": 18, "clicks": 12}
    assert (stats["rates"]["open"], stats["rates"]["click"]) == (41.67, 38.89)
