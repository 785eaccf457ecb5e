"""The pixel and the redirect through the app, the buffer drained as the worker does, every
table and the statistics checked against the rows."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import text

from openmailer.adapters.db.tracking_events import SqlAlchemyEventStore
from openmailer.adapters.http.tracking.flood import FloodGuard
from openmailer.adapters.http.tracking.public import PIXEL
from openmailer.adapters.redis.tracking_stream import GROUP, STREAM_KEY, RedisHitStream
from openmailer.core.accounts.model import User
from openmailer.core.accounts.service import AccountsPorts as Accounts
from openmailer.core.tracking.service import ordered_handlers
from tests.integration.accounts.accounts_helpers import api_key_for, engine_of, make_user
from tests.integration.tracking.tracking_helpers import (
    BROWSER,
    LINKS,
    SentCampaign,
    drain_buffer,
    recipient_row,
    recomputed_stats,
    send_campaign,
    stats_of,
)

pytestmark = pytest.mark.integration
AN_HOUR = timedelta(hours=1)


async def sent(
    app: Litestar, accounts: Accounts, *, recipients: int, sent_ago: timedelta
) -> tuple[SentCampaign, User]:
    user = await make_user(accounts)
    campaign = await send_campaign(
        app, engine_of(accounts), user.id, recipients=recipients, sent_ago=sent_ago
    )
    return campaign, user


async def stream_length(app: Litestar) -> int:
    return int(await app.state.resources.redis.xlen(STREAM_KEY))


async def test_a_browser_opens_and_clicks_and_every_table_and_the_stats_say_so(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    campaign, user = await sent(app, accounts, recipients=3, sent_ago=AN_HOUR)
    reader, other, _ = campaign.mails
    browser = {"User-Agent": BROWSER}

    pixel = await client.get(reader.pixel, headers=browser)
    assert pixel.status_code == 200
    assert pixel.content == PIXEL and pixel.headers["content-type"] == "image/gif"
    assert "no-store" in pixel.headers["cache-control"]
    again = await client.get(reader.pixel, headers=browser)
    assert again.status_code == 200
    click = await client.get(reader.clicks[0], headers=browser)
    assert click.status_code == 302 and click.headers["location"] == LINKS[0]
    assert click.headers["referrer-policy"] == "no-referrer"
    for path in (reader.clicks[0], other.clicks[0], other.clicks[1]):
        assert (await client.get(path, headers=browser)).status_code == 302

    await drain_buffer(app)
    engine = engine_of(accounts)
    row = await recipient_row(engine, reader.recipient_id)
    assert (row["open_count"], row["click_count"], row["status"]) == (2, 2, "CLICKED")
    assert row["opened_at"] is not None and row["clicked_at"] is not None
    assert row["machine_open_count"] == 0
    clicker = await recipient_row(engine, other.recipient_id)
    assert (clicker["open_count"], clicker["click_count"], clicker["status"]) == (0, 2, "CLICKED")
    async with engine.connect() as conn:
        clicks = (
            await conn.execute(
                text(
                    "SELECT ip_address, user_agent, is_machine FROM campaign_clicks"
                    " WHERE campaign_id = :c"
                ),
                {"c": campaign.campaign_id},
            )
        ).all()
        links = (
            await conn.execute(
                text(
                    "SELECT click_count, unique_click_count FROM campaign_links"
                    " WHERE campaign_id = :c ORDER BY link_index"
                ),
                {"c": campaign.campaign_id},
            )
        ).all()
        rates = (
            await conn.execute(
                text("SELECT open_rate, click_rate FROM email_campaigns WHERE id = :c"),
                {"c": campaign.campaign_id},
            )
        ).one()
    assert sorted(clicks) == [("127.0.0.1", BROWSER, False)] * 4
    assert [tuple(link) for link in links] == [(3, 2), (1, 1)]
    assert (float(rates.open_rate), float(rates.click_rate)) == (33.33, 66.67)

    stats = await stats_of(client, accounts, user, campaign.campaign_id)
    facts = await recomputed_stats(engine, campaign.campaign_id)
    assert stats["recipients"] == facts["recipients"] == 3
    assert stats["sent"] == facts["sent"] == 3
    assert (
        stats["human"]
        == {
            "opened": facts["opened"],
            "clicked": facts["clicked"],
            "opens": facts["opens"],
            "clicks": facts["clicks"],
        }
        == {"opened": 1, "clicked": 2, "opens": 2, "clicks": 4}
    )
    assert stats["rates"]["open"] == 33.33 and stats["rates"]["click"] == 66.67
    assert [(link["url"], link["clicks"], link["unique_clicks"]) for link in stats["links"]] == [
        (LINKS[0], 3, 2),
        (LINKS[1], 1, 1),
    ]
    assert sum(point["opens"] for point in stats["series"]) == 2
    assert sum(point["clicks"] for point in stats["series"]) == 4


async def test_privacy_proxies_and_scanners_are_recorded_but_kept_out_of_the_rates(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    campaign, user = await sent(app, accounts, recipients=2, sent_ago=AN_HOUR)
    fresh, _ = await sent(app, accounts, recipients=1, sent_ago=timedelta(seconds=0))
    first, second = campaign.mails
    await client.get(first.pixel, headers={"User-Agent": "Mozilla/5.0"})  # Apple MPP
    await client.get(
        second.pixel, headers={"User-Agent": "Mozilla/5.0 (via ggpht.com GoogleImageProxy)"}
    )
    await client.get(second.clicks[1], headers={"User-Agent": "Barracuda Sentinel (link check)"})
    # a gateway's scanner clicks the moment the mail arrives, with a browser's user agent
    await client.get(fresh.mails[0].clicks[0], headers={"User-Agent": BROWSER})
    await drain_buffer(app)

    engine = engine_of(accounts)
    row = await recipient_row(engine, second.recipient_id)
    assert (row["open_count"], row["click_count"], row["opened_at"], row["status"]) == (
        0,
        0,
        None,
        "SENT",
    )
    assert (row["machine_open_count"], row["machine_click_count"]) == (1, 1)
    scanned = await recipient_row(engine, fresh.mails[0].recipient_id)
    assert (scanned["click_count"], scanned["machine_click_count"]) == (0, 1)
    async with engine.connect() as conn:
        reasons = (
            (
                await conn.execute(
                    text(
                        "SELECT machine_reason FROM tracking_events WHERE campaign_id IN (:a, :b)"
                        " ORDER BY machine_reason"
                    ),
                    {"a": campaign.campaign_id, "b": fresh.campaign_id},
                )
            )
            .scalars()
            .all()
        )
    assert reasons == ["apple_mpp", "before_delivery", "image_proxy", "scanner_agent"]

    stats = await stats_of(client, accounts, user, campaign.campaign_id)
    facts = await recomputed_stats(engine, campaign.campaign_id)
    assert stats["human"] == {"opened": 0, "clicked": 0, "opens": 0, "clicks": 0}
    assert stats["machine"] == {"opened": 2, "clicked": 1, "opens": 2, "clicks": 1}
    assert (stats["machine"]["opens"], stats["machine"]["clicks"]) == (
        facts["machine_opens"],
        facts["machine_clicks"],
    )
    assert stats["rates"]["open"] == 0.0 and stats["links"][1]["machine_clicks"] == 1


@pytest.mark.parametrize(
    "mangle",
    [
        lambda p: p[:-6] + ("A" if p[-6] != "A" else "B") + p[-5:],  # one MAC character changed
        lambda p: p[: len(p) // 2],  # truncated
        lambda p: p.replace("/t/o/", "/t/o/0"),  # another tracking id, same MAC
        lambda p: "/t/o/" + "9" * 5000 + ".gif",  # huge
        lambda p: p.removesuffix(".gif"),  # no .gif
    ],
)
async def test_forged_pixels_answer_a_404_gif_and_record_nothing(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts, mangle: object
) -> None:
    campaign, _ = await sent(app, accounts, recipients=1, sent_ago=AN_HOUR)
    before = await stream_length(app)
    response = await client.get(mangle(campaign.mails[0].pixel))  # type: ignore[operator]
    assert response.status_code == 404
    assert response.content == PIXEL and response.headers["content-type"] == "image/gif"
    assert await stream_length(app) == before


async def test_the_redirect_never_goes_anywhere_but_the_recorded_url(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    campaign, _ = await sent(app, accounts, recipients=1, sent_ago=AN_HOUR)
    other, _ = await sent(app, accounts, recipients=1, sent_ago=AN_HOUR)
    click = campaign.mails[0].clicks[0]
    tracking_id, index, mac = click.removeprefix("/t/c/").split(".")
    before = await stream_length(app)
    hostile = [
        f"/t/c/{tracking_id}.{index}.{mac[:-1]}",  # MAC cut short
        f"/t/c/{tracking_id}.1.{mac}",  # another link, this link's MAC
        f"/t/c/{tracking_id}.7.{mac}",  # a link that does not exist
        f"/t/c/{other.mails[0].tracking_id}.{index}.{mac}",  # another campaign's recipient
        f"/t/c/https:%2F%2Fevil.example.{index}.{mac}",
        "/t/c/" + "a" * 10_000,
        "/t/c/..%2F..%2Fapi%2Fv1%2Fusers",
    ]
    for path in hostile:
        response = await client.get(path)
        assert response.status_code == 404, path
        assert "location" not in response.headers
        assert response.json()["code"] == "not_found"
    assert await stream_length(app) == before
    steered = await client.get(
        click + "?url=https://evil.example&redirect=https://evil.example",
        headers={"Referer": "https://evil.example", "Host": "evil.example"},
    )
    assert steered.status_code == 302 and steered.headers["location"] == LINKS[0]
    # a link recorded but absent from the mail still needs its own MAC
    assert (await client.get(f"/t/c/{tracking_id}.1.{mac}")).status_code == 404


async def test_a_worker_killed_holding_events_loses_none_and_a_redelivery_counts_once(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    campaign, _ = await sent(app, accounts, recipients=2, sent_ago=AN_HOUR)
    for mail in campaign.mails:
        assert (await client.get(mail.pixel, headers={"User-Agent": BROWSER})).status_code == 200
        assert (
            await client.get(mail.clicks[0], headers={"User-Agent": BROWSER})
        ).status_code == 302
    redis = app.state.resources.redis
    await drain_buffer(app)  # whatever earlier tests left is applied first
    for mail in campaign.mails:
        await client.get(mail.pixel, headers={"User-Agent": BROWSER})

    # A worker reads the two opens and dies before it commits or acknowledges them.
    doomed = RedisHitStream(redis, consumer="doomed-worker")
    held = await doomed.read(100)
    assert len(held) >= 2
    assert await drain_buffer(app, consumer="survivor") == 0  # held: not the survivor's yet
    applied = await drain_buffer(app, consumer="survivor", stale_after_ms=0)
    assert applied >= 2
    pending = await redis.xpending(STREAM_KEY, GROUP)
    assert pending["pending"] == 0
    engine = engine_of(accounts)
    for mail in campaign.mails:
        assert (await recipient_row(engine, mail.recipient_id))["open_count"] == 2

    # The same batch delivered once more (a crash between commit and acknowledgement).
    store = SqlAlchemyEventStore(engine)
    assert await store.apply(held, ordered_handlers(app.state.areas.tracking_handlers)) == 0
    for mail in campaign.mails:
        row = await recipient_row(engine, mail.recipient_id)
        assert (row["open_count"], row["click_count"]) == (2, 1)


async def test_a_flood_from_one_address_is_refused_without_recording(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    campaign, _ = await sent(app, accounts, recipients=1, sent_ago=AN_HOUR)
    services = app.state.services
    regular = services["tracking-public"]
    services["tracking-public"] = replace(
        regular, flood_guard=FloodGuard(limit=3, window_seconds=3600)
    )
    try:
        browser = {"User-Agent": BROWSER}
        mail = campaign.mails[0]
        statuses = [(await client.get(mail.pixel, headers=browser)).status_code for _ in range(5)]
        click = await client.get(mail.clicks[0], headers=browser)
    finally:
        services["tracking-public"] = regular
    assert statuses == [200, 200, 200, 429, 429]
    assert click.status_code == 429 and click.json()["code"] == "rate_limited"
    assert "location" not in click.headers
    await drain_buffer(app)
    row = await recipient_row(engine_of(accounts), campaign.mails[0].recipient_id)
    assert (row["open_count"], row["click_count"]) == (3, 0)


async def test_another_users_campaign_stats_are_404(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    campaign, _ = await sent(app, accounts, recipients=1, sent_ago=AN_HOUR)
    stranger = await make_user(accounts)
    caller = await api_key_for(accounts, stranger, ["read:analytics"])
    response = await client.get(
        f"/api/v1/campaigns/{campaign.campaign_id}/stats", headers=caller.headers
    )
    assert response.status_code == 404


async def test_the_recipients_pages_carry_each_ones_activity_and_filter_by_status(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    campaign, user = await sent(app, accounts, recipients=5, sent_ago=AN_HOUR)
    opener, clicker = campaign.mails[1], campaign.mails[3]
    await client.get(opener.pixel, headers={"User-Agent": BROWSER})
    await client.get(clicker.clicks[0], headers={"User-Agent": BROWSER})
    await client.get(clicker.pixel, headers={"User-Agent": "Mozilla/5.0"})
    await drain_buffer(app)
    caller = await api_key_for(accounts, user, ["read:analytics"])
    path = f"/api/v1/campaigns/{campaign.campaign_id}/recipients"

    seen, after = [], None
    while True:
        params = {"limit": 2} | ({"after": after} if after else {})
        page = (await client.get(path, params=params, headers=caller.headers)).json()
        seen += page["items"]
        after = page["next_cursor"]
        if after is None:
            break
    assert [item["id"] for item in seen] == [mail.recipient_id for mail in campaign.mails]
    by_id = {item["id"]: item for item in seen}
    assert by_id[opener.recipient_id]["status"] == "OPENED"
    assert by_id[opener.recipient_id]["opened_at"].endswith(("Z", "+00:00"))
    assert (
        by_id[clicker.recipient_id]["click_count"],
        by_id[clicker.recipient_id]["machine_open_count"],
    ) == (1, 1)

    clicked = await client.get(path, params={"status": "CLICKED"}, headers=caller.headers)
    assert [item["id"] for item in clicked.json()["items"]] == [clicker.recipient_id]
    stranger = await api_key_for(accounts, await make_user(accounts), ["read:analytics"])
    assert (await client.get(path, headers=stranger.headers)).status_code == 404
    bad = await client.get(path, params={"after": "not-a-cursor"}, headers=caller.headers)
    assert bad.status_code in (400, 422) and bad.json()["code"] == "bad_cursor"


async def test_a_click_before_the_sends_result_is_written_is_recorded_as_a_scanners(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    campaign, _ = await sent(app, accounts, recipients=1, sent_ago=AN_HOUR)
    mail = campaign.mails[0]
    engine = engine_of(accounts)
    async with engine.begin() as conn:  # the send path has claimed it, its result not written
        await conn.execute(
            text("UPDATE campaign_recipients SET status = 'SENDING', sent_at = NULL WHERE id = :r"),
            {"r": mail.recipient_id},
        )
    response = await client.get(mail.clicks[1], headers={"User-Agent": BROWSER})
    assert response.status_code == 302 and response.headers["location"] == LINKS[1]
    await drain_buffer(app)
    row = await recipient_row(engine, mail.recipient_id)
    assert (row["status"], row["click_count"], row["machine_click_count"]) == ("SENDING", 0, 1)
    async with engine.connect() as conn:
        clicks = await conn.scalar(
            text("SELECT count(*) FROM campaign_clicks WHERE recipient_id = :r AND is_machine"),
            {"r": mail.recipient_id},
        )
    assert clicks == 1
