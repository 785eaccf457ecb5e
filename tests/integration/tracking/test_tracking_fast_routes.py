"""The pixel and the redirect answered by their fast routes (adapters/http/tracking/fast.py):
the same answers as the Litestar handlers, hostile input still refused, the unusual handed on,
and tracking ids that carry their campaign resolving links with one query per campaign."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
from litestar import Litestar
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from openmailer.adapters.db.tracking_links import SqlAlchemyLinkDirectory, campaign_of_tracking_id
from openmailer.adapters.http.tracking.fast import ANSWERED, CLICK_TEMPLATE, PIXEL_TEMPLATE
from openmailer.adapters.http.tracking.flood import FloodGuard
from openmailer.adapters.http.tracking.public import NO_STORE, PIXEL, location_of
from openmailer.adapters.metrics.http_latency import observation_of
from openmailer.adapters.redis.tracking_stream import STREAM_KEY
from openmailer.core.accounts.service import AccountsPorts as Accounts
from tests.integration.accounts.accounts_helpers import engine_of, make_user
from tests.integration.tracking.tracking_helpers import (
    BROWSER,
    LINKS,
    SentCampaign,
    drain_buffer,
    recipient_row,
    send_campaign,
)

pytestmark = pytest.mark.integration
AN_HOUR = timedelta(hours=1)


async def sent(
    app: Litestar, accounts: Accounts, *, recipients: int = 1, ids_carry_campaign: bool = True
) -> SentCampaign:
    user = await make_user(accounts)
    return await send_campaign(
        app,
        engine_of(accounts),
        user.id,
        recipients=recipients,
        sent_ago=AN_HOUR,
        ids_carry_campaign=ids_carry_campaign,
    )


async def stream_length(app: Litestar) -> int:
    return int(await app.state.resources.redis.xlen(STREAM_KEY))


@contextmanager
def statements_of(engine: AsyncEngine) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", note)


def answered_since(before: Counter[str]) -> Counter[str]:
    return ANSWERED - before


async def test_the_fast_routes_answer_the_pixel_and_the_redirect_as_the_handlers_do(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    campaign = await sent(app, accounts)
    mail = campaign.mails[0]
    before = Counter(ANSWERED)
    browser = {"User-Agent": BROWSER}

    pixel = await client.get(mail.pixel, headers=browser | {"X-Request-ID": "fast-pixel-1"})
    assert pixel.status_code == 200 and pixel.content == PIXEL
    assert pixel.headers["content-type"] == "image/gif"
    assert pixel.headers["content-length"] == str(len(PIXEL))
    assert pixel.headers["x-request-id"] == "fast-pixel-1"  # inside the request context
    click = await client.get(mail.clicks[1], headers=browser)
    assert click.status_code == 302 and click.headers["location"] == LINKS[1]
    assert click.content == b"" and click.headers["x-request-id"]
    for response in (pixel, click):
        assert {name: response.headers[name] for name in NO_STORE} == {
            name: value for name, value in NO_STORE.items()
        }
    again = await client.get(mail.pixel, headers=browser | {"X-Request-ID": "fast-pixel-2"})
    assert again.headers.get_list("x-request-id") == ["fast-pixel-2"]  # nothing of the first's
    assert answered_since(before) == Counter({PIXEL_TEMPLATE: 2, CLICK_TEMPLATE: 1})
    assert observation_of(PIXEL_TEMPLATE, "GET", 200)._sum.get() > 0  # its latency label
    assert observation_of(CLICK_TEMPLATE, "GET", 302)._sum.get() > 0

    await drain_buffer(app)
    row = await recipient_row(engine_of(accounts), mail.recipient_id)
    assert (row["open_count"], row["click_count"], row["status"]) == (2, 1, "CLICKED")


async def test_ids_of_either_format_are_redirected_and_counted(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    carrying = await sent(app, accounts, recipients=2)
    older = await sent(app, accounts, recipients=2, ids_carry_campaign=False)
    assert campaign_of_tracking_id(carrying.mails[0].tracking_id) == carrying.campaign_id
    assert campaign_of_tracking_id(older.mails[0].tracking_id) is None
    for campaign in (carrying, older):
        for mail in campaign.mails:
            response = await client.get(mail.clicks[0], headers={"User-Agent": BROWSER})
            assert response.status_code == 302 and response.headers["location"] == LINKS[0]
    await drain_buffer(app)
    for campaign in (carrying, older):
        for mail in campaign.mails:
            row = await recipient_row(engine_of(accounts), mail.recipient_id)
            assert row["click_count"] == 1


async def test_links_are_one_query_per_campaign_when_ids_carry_it_and_per_recipient_otherwise(
    app: Litestar, accounts: Accounts
) -> None:
    engine = engine_of(accounts)
    carrying = await sent(app, accounts, recipients=3)
    older = await sent(app, accounts, recipients=3, ids_carry_campaign=False)
    directory = SqlAlchemyLinkDirectory(engine)
    with statements_of(engine) as statements:
        for mail in carrying.mails:
            assert await directory.url_for(mail.tracking_id, 1) == LINKS[1]
            assert await directory.url_for(mail.tracking_id, 0) == LINKS[0]
    assert len(statements) == 1 and "campaign_recipients" not in statements[0]
    with statements_of(engine) as statements:
        for mail in older.mails:
            assert await directory.url_for(mail.tracking_id, 1) == LINKS[1]
    assert len(statements) == 3  # each recipient's first click looks the recipient up

    unknown = f"{carrying.campaign_id + 10_000_000}-{os.urandom(16).hex()}"
    with statements_of(engine) as statements:
        assert await directory.url_for(unknown, 0) is None
        assert await directory.url_for(unknown, 0) is None  # not remembered
        assert await directory.url_for(carrying.mails[0].tracking_id, 7) is None  # not recorded
    assert len(statements) == 2


@pytest.mark.parametrize(
    "tracking_id",
    [
        "12-" + "a" * 31,  # too short
        "12-" + "a" * 33,  # too long
        "012-" + "a" * 32,  # not how a campaign id is written
        "-" + "a" * 32,
        "1" * 19 + "-" + "a" * 32,  # beyond any campaign id
        "a" * 32,  # the older format
        "1-2-" + "a" * 30,
    ],
)
def test_only_the_materialised_format_names_a_campaign(tracking_id: str) -> None:
    assert campaign_of_tracking_id(tracking_id) is None


async def test_hostile_input_to_the_fast_routes_records_nothing_and_never_steers(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    campaign = await sent(app, accounts)
    other = await sent(app, accounts)
    mail = campaign.mails[0]
    tracking_id, index, mac = mail.clicks[0].removeprefix("/t/c/").split(".")
    open_mac = mail.pixel.removeprefix("/t/o/").removesuffix(".gif").split(".")[1]
    huge = {"User-Agent": "x" * 20_000, "X-Forwarded-For": "1," * 2_000, "X-Junk": "y" * 20_000}
    before_events = await stream_length(app)
    before = Counter(ANSWERED)
    pixels = [
        f"/t/o/{other.mails[0].tracking_id}.{open_mac}.gif",  # another recipient, this MAC
        f"/t/o/{tracking_id}.{open_mac[:-1]}.gif",
        "/t/o/" + "9" * 5000 + ".gif",
        f"/t/o/{tracking_id}.{open_mac}",  # no .gif
        f"/t/o/{tracking_id}.{open_mac}.gif?url=https://evil.example",
    ]
    for path in pixels[:-1]:
        response = await client.get(path, headers=huge)
        assert response.status_code == 404, path
        assert response.content == PIXEL and response.headers["content-type"] == "image/gif"
    clicks = [
        f"/t/c/{other.mails[0].tracking_id}.{index}.{mac}",
        f"/t/c/{tracking_id}.{index}.{mac[:-1]}",
        f"/t/c/{tracking_id}.7.{mac}",
        f"/t/c/{tracking_id}.{index}.{mac}" + "A" * 200,
        "/t/c/" + "a" * 10_000,
    ]
    for path in clicks:
        response = await client.get(path, headers=huge)
        assert response.status_code == 404, path
        assert "location" not in response.headers
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert (body["code"], body["status"], body["detail"]) == ("not_found", 404, "no such link")
        assert body["request_id"] == response.headers["x-request-id"]
    assert answered_since(before) == Counter(
        {PIXEL_TEMPLATE: len(pixels) - 1, CLICK_TEMPLATE: len(clicks)}
    )
    assert await stream_length(app) == before_events

    steered = await client.get(
        mail.clicks[0] + "?url=https://evil.example&redirect=https://evil.example",
        headers={"Referer": "https://evil.example", "Host": "evil.example"} | huge,
    )
    assert steered.status_code == 302 and steered.headers["location"] == LINKS[0]
    pixel = await client.get(pixels[-1], headers=huge)
    assert pixel.status_code == 200 and "location" not in pixel.headers
    assert await stream_length(app) == before_events + 2
    await drain_buffer(app)
    row = await recipient_row(engine_of(accounts), mail.recipient_id)
    assert (row["open_count"], row["click_count"]) == (1, 1)


async def test_paths_the_fast_routes_do_not_answer_go_on_to_litestar(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    campaign = await sent(app, accounts)
    before = Counter(ANSWERED)
    for path in ("/t/c/a/b", "/t/o/a/b.gif", "/t/c/", "/t/o/"):
        response = await client.get(path)
        assert response.status_code in (404, 405), path  # Litestar's router: no such route
        assert response.headers["content-type"] == "application/problem+json"
    head = await client.head(campaign.mails[0].pixel)  # another method: Litestar's answer
    assert head.status_code in (200, 404, 405)
    assert answered_since(before) == Counter()


async def test_a_flood_is_refused_by_the_fast_routes_with_retry_after(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    campaign = await sent(app, accounts)
    mail = campaign.mails[0]
    services = app.state.services
    regular = services["tracking-public"]
    services["tracking-public"] = replace(
        regular, flood_guard=FloodGuard(limit=1, window_seconds=3600)
    )
    before_events = await stream_length(app)
    before = Counter(ANSWERED)
    try:
        assert (await client.get(mail.pixel)).status_code == 200
        pixel = await client.get(mail.pixel)
        click = await client.get(mail.clicks[0])
    finally:
        services["tracking-public"] = regular
    assert pixel.status_code == 429 and pixel.content == PIXEL
    assert pixel.headers["cache-control"] == NO_STORE["Cache-Control"]
    assert click.status_code == 429 and "location" not in click.headers
    assert click.json()["code"] == "rate_limited"
    for refused in (pixel, click):
        assert 1 <= int(refused.headers["retry-after"]) <= 3600
    assert answered_since(before) == Counter({PIXEL_TEMPLATE: 2, CLICK_TEMPLATE: 1})
    assert await stream_length(app) == before_events + 1  # the one admitted open


def test_a_recorded_url_is_sent_as_a_header_can_carry_it() -> None:
    assert location_of("https://x.example/caf\u00e9?q=\u65e5#top") == (
        "https://x.example/caf%C3%A9?q=%E6%97%A5#top"  # UTF-8, percent-encoded, as browsers do
    )
    already = "https://x.example/a%20b?x=1&y=[2]#f"
    assert location_of(already) == already  # ASCII goes as recorded, escapes untouched
    assert location_of("https://x.example/\r\nSet-Cookie: a=b") is None  # never a header split
    assert location_of(None) is None


class _RedisDown:
    """A tracking service whose buffer is unreachable."""

    async def record_open(self, token: str, **_: object) -> bool:
        raise RedisConnectionError("connection refused")

    async def record_click(self, token: str, **_: object) -> str | None:
        raise RedisConnectionError("connection refused")


async def test_an_outage_is_handed_to_litestar_which_answers_503(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    campaign = await sent(app, accounts)
    services = app.state.services
    regular = services["tracking-public"]
    services["tracking-public"] = replace(regular, service=_RedisDown())
    before = Counter(ANSWERED)
    try:
        pixel = await client.get(campaign.mails[0].pixel)
        click = await client.get(campaign.mails[0].clicks[0])
    finally:
        services["tracking-public"] = regular
    for response in (pixel, click):
        assert response.status_code == 503
        assert response.json()["code"] == "service_unavailable"
        assert response.headers["retry-after"]
        assert "location" not in response.headers
    assert answered_since(before) == Counter()
