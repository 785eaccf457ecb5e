"""The monthly campaign archive on real rows: final campaigns older than their owner's report
choice move to `email_campaigns_archive` with their whole statistics, their detail rows go (in
batches), and the API answers the same figures, read-only."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from openmailer.adapters.db.campaign_archive import REPORTED, archive_campaigns, write_archive_row
from openmailer.adapters.db.click_rollup import aggregate_clicks
from openmailer.core.accounts.model import User
from openmailer.core.accounts.service import AccountsPorts as Accounts
from tests.integration.accounts.accounts_helpers import api_key_for, engine_of, make_user
from tests.integration.tracking.retention_helpers import (
    add_clicks,
    choose,
    days_later,
    rows_of,
    table_rows,
    tracked_campaign,
    utc_now,
)
from tests.integration.tracking.tracking_helpers import (
    BROWSER,
    drain_buffer,
    send_campaign,
    stats_of,
)

pytestmark = pytest.mark.integration
NOTHING_LEFT = dict.fromkeys(REPORTED, 0)
DETAIL_TABLES = (
    "tracking_events",
    "campaign_clicks",
    "campaign_click_daily",
    "campaign_recipients",
    "campaign_links",
)
EVERY_SCOPE = ["read:campaigns", "write:campaigns", "send:campaigns", "read:analytics"]


async def detail_rows(engine: AsyncEngine, campaign_id: int) -> dict[str, int]:
    return {table: await rows_of(engine, table, campaign_id) for table in DETAIL_TABLES}


async def add_logs(engine: AsyncEngine, user: User, campaign_id: int, recipient_id: int) -> None:
    """An email log and an outbox message of the campaign, as the send path leaves them."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO email_logs (user_id, campaign_id, recipient_id, email_type,"
                " recipient_email, status) VALUES (:user, :c, :r, 'CAMPAIGN', 'a@example.com',"
                " 'SENT')"
            ),
            {"user": user.id, "c": campaign_id, "r": recipient_id},
        )
        await conn.execute(
            text(
                "INSERT INTO outbox_messages (user_id, campaign_id, recipient_email, subject,"
                " message_id, raw_message) VALUES (:user, :c, 'a@example.com', 's', 'm', 'x')"
            ),
            {"user": user.id, "c": campaign_id},
        )


async def campaign_read(
    client: httpx.AsyncClient, accounts: Accounts, user: User, campaign_id: int
) -> dict[str, Any]:
    caller = await api_key_for(accounts, user, ["read:campaigns"])
    response = await client.get(f"/api/v1/campaigns/{campaign_id}", headers=caller.headers)
    assert response.status_code == 200, response.text
    read: dict[str, Any] = response.json()
    return read


async def set_status(engine: AsyncEngine, campaign_id: int, status: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE email_campaigns SET status = :s WHERE id = :c"),
            {"s": status, "c": campaign_id},
        )


async def test_an_archived_campaign_keeps_its_figures_and_loses_its_detail_rows(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    engine = engine_of(accounts)
    tracked = await tracked_campaign(app, client, accounts)
    user, campaign_id = tracked.user, tracked.campaign.campaign_id
    await choose(engine, user, campaign_reports="1y", click_logs="30d")
    await aggregate_clicks(engine, days_later(31))  # part of the clicks in the daily counts
    await add_clicks(engine, tracked.campaign, count=3, at=utc_now(), machine_every=2)
    await add_logs(engine, user, campaign_id, tracked.campaign.mails[0].recipient_id)
    stats = await stats_of(client, accounts, user, campaign_id)
    read = await campaign_read(client, accounts, user, campaign_id)
    details = await detail_rows(engine, campaign_id)
    assert details == {
        "tracking_events": 11,  # 3 opens, 8 clicks
        "campaign_clicks": 3,
        "campaign_click_daily": 2,
        "campaign_recipients": 3,
        "campaign_links": 2,
    }

    assert await archive_campaigns(engine, days_later(364)) == NOTHING_LEFT
    campaigns_before = await table_rows(engine, "email_campaigns")
    preview = await archive_campaigns(engine, days_later(366, dry_run=True))
    assert await table_rows(engine, "email_campaigns") == campaigns_before
    assert await detail_rows(engine, campaign_id) == details
    assert preview["email_campaigns"] >= 1 and preview["campaign_recipients"] >= 3

    assert await archive_campaigns(engine, days_later(366)) == preview
    assert await detail_rows(engine, campaign_id) == dict.fromkeys(DETAIL_TABLES, 0)
    async with engine.connect() as conn:
        assert not await conn.scalar(
            text("SELECT count(*) FROM email_campaigns WHERE id = :c"), {"c": campaign_id}
        )
        logs = (
            await conn.execute(
                text("SELECT campaign_id, recipient_id FROM email_logs WHERE user_id = :u"),
                {"u": user.id},
            )
        ).all()
        outbox = (
            await conn.execute(
                text("SELECT campaign_id FROM outbox_messages WHERE user_id = :u"), {"u": user.id}
            )
        ).all()
    assert [tuple(row) for row in logs] == [(None, None)]  # kept, detached
    assert [tuple(row) for row in outbox] == [(None,)]
    assert await stats_of(client, accounts, user, campaign_id) == stats
    archived = await campaign_read(client, accounts, user, campaign_id)
    assert archived.pop("archived_at") is not None and read.pop("archived_at") is None
    assert archived == read

    assert await archive_campaigns(engine, days_later(366)) == NOTHING_LEFT  # idempotent


async def test_an_archived_campaign_is_read_only_and_listed_apart(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    engine = engine_of(accounts)
    tracked = await tracked_campaign(app, client, accounts)
    user, campaign_id = tracked.user, tracked.campaign.campaign_id
    await choose(engine, user, campaign_reports="1y")
    await archive_campaigns(engine, days_later(366))
    caller = await api_key_for(accounts, user, EVERY_SCOPE)
    base = f"/api/v1/campaigns/{campaign_id}"
    for method, path, body in (
        ("PATCH", base, {"name": "renamed"}),
        ("DELETE", base, None),
        ("POST", f"{base}/send", None),
        ("POST", f"{base}/cancel", None),
        ("POST", f"{base}/retry-failed", None),
        ("POST", f"{base}/test", {"emails": ["me@example.com"]}),
    ):
        response = await client.request(method, path, json=body, headers=caller.headers)
        assert response.status_code == 409, (method, path, response.text)
        assert response.json()["code"] == "campaign_archived", (method, path)
    recipients = await client.get(f"{base}/recipients", headers=caller.headers)
    assert recipients.status_code == 404 and recipients.json()["code"] == "campaign_archived"
    assert f"{base}/stats" in recipients.json()["detail"]

    live = await client.get("/api/v1/campaigns", headers=caller.headers)
    assert campaign_id not in [item["id"] for item in live.json()["items"]]
    archived = await client.get(
        "/api/v1/campaigns", params={"archived": "true"}, headers=caller.headers
    )
    assert [item["id"] for item in archived.json()["items"]] == [campaign_id]
    assert archived.json()["total"] == 1

    reader = tracked.campaign.mails[0]  # an old mail opened and clicked again: nothing counted
    await client.get(reader.pixel, headers={"User-Agent": BROWSER})
    await client.get(reader.clicks[0], headers={"User-Agent": BROWSER})
    await drain_buffer(app)
    assert await rows_of(engine, "tracking_events", campaign_id) == 0

    stranger = await api_key_for(accounts, await make_user(accounts), EVERY_SCOPE)
    assert (await client.get(base, headers=stranger.headers)).status_code == 404
    assert (await client.get(f"{base}/stats", headers=stranger.headers)).status_code == 404


async def test_only_final_campaigns_older_than_their_owners_choice_are_archived(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    engine = engine_of(accounts)
    year, forever, default = [await make_user(accounts) for _ in range(3)]
    await choose(engine, year, campaign_reports="1y")
    await choose(engine, forever, campaign_reports="forever")  # `default`: no row, 2 years

    async def campaign(user: User, status: str) -> int:
        sent = await send_campaign(app, engine, user.id, recipients=1, sent_ago=timedelta(hours=1))
        await set_status(engine, sent.campaign_id, status)
        return sent.campaign_id

    statuses = ("SENT", "CANCELLED", "FAILED", "SENDING", "PAUSED", "SCHEDULED", "DRAFT")
    of_year = {status: await campaign(year, status) for status in statuses}
    of_forever = await campaign(forever, "SENT")
    of_default = await campaign(default, "SENT")

    async def live(campaign_id: int) -> bool:
        return await rows_of(engine, "campaign_recipients", campaign_id) == 1

    await archive_campaigns(engine, days_later(366))
    assert {status: await live(id_) for status, id_ in of_year.items()} == {
        "SENT": False,
        "CANCELLED": False,
        "FAILED": False,
        "SENDING": True,
        "PAUSED": True,
        "SCHEDULED": True,
        "DRAFT": True,
    }
    assert await live(of_forever) and await live(of_default)
    await archive_campaigns(engine, days_later(731))
    assert await live(of_forever) and not await live(of_default)
    assert await live(of_year["SENDING"]) and await live(of_year["PAUSED"])


async def test_a_large_campaign_goes_in_small_batches(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    engine = engine_of(accounts)
    user = await make_user(accounts)
    await choose(engine, user, campaign_reports="1y")
    sent = await send_campaign(app, engine, user.id, recipients=13, sent_ago=timedelta(hours=1))
    await add_clicks(engine, sent, count=17, at=utc_now(), machine_every=4)
    stats = await stats_of(client, accounts, user, sent.campaign_id)

    report = await archive_campaigns(engine, days_later(366, batch_size=3))
    assert report["campaign_recipients"] >= 13 and report["campaign_clicks"] >= 17
    assert await detail_rows(engine, sent.campaign_id) == dict.fromkeys(DETAIL_TABLES, 0)
    assert await stats_of(client, accounts, user, sent.campaign_id) == stats


async def test_a_run_stopped_half_way_resumes_with_the_figures_taken_first(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    engine = engine_of(accounts)
    tracked = await tracked_campaign(app, client, accounts)
    user, campaign_id = tracked.user, tracked.campaign.campaign_id
    await choose(engine, user, campaign_reports="1y")
    stats = await stats_of(client, accounts, user, campaign_id)
    run = days_later(366)
    await write_archive_row(engine, run.now, campaign_id, user.id)  # step 1, then a crash
    async with engine.begin() as conn:  # part of step 2 done
        await conn.execute(
            text("DELETE FROM tracking_events WHERE campaign_id = :c AND kind = 'click'"),
            {"c": campaign_id},
        )
    assert await stats_of(client, accounts, user, campaign_id) == stats  # from the archive

    report = await archive_campaigns(engine, run)
    assert report["email_campaigns"] >= 1
    assert await detail_rows(engine, campaign_id) == dict.fromkeys(DETAIL_TABLES, 0)
    assert await stats_of(client, accounts, user, campaign_id) == stats


async def test_a_campaign_retried_before_its_archive_went_further_is_left_live(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    engine = engine_of(accounts)
    tracked = await tracked_campaign(app, client, accounts)
    user, campaign_id = tracked.user, tracked.campaign.campaign_id
    await choose(engine, user, campaign_reports="1y")
    run = days_later(366)
    await write_archive_row(engine, run.now, campaign_id, user.id)
    await set_status(engine, campaign_id, "SENDING")  # a retry that slipped in, then a crash

    await archive_campaigns(engine, run)
    assert (await detail_rows(engine, campaign_id))["campaign_recipients"] == 3
    read = await campaign_read(client, accounts, user, campaign_id)
    assert read["status"] == "SENDING" and read["archived_at"] is None


async def test_both_jobs_run_beside_a_sending_campaign_without_waiting_for_it(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    engine = engine_of(accounts)
    user = await make_user(accounts)
    await choose(engine, user, campaign_reports="1y", click_logs="30d")
    sending = await send_campaign(app, engine, user.id, recipients=3, sent_ago=timedelta(days=45))
    await set_status(engine, sending.campaign_id, "SENDING")  # a long one, still going
    await add_clicks(engine, sending, count=4, at=utc_now() - timedelta(days=40))
    async with engine.connect() as send_path:
        await send_path.begin()  # a batch claimed, the campaign's counters being written
        await send_path.execute(
            text("UPDATE email_campaigns SET sent_count = 3 WHERE id = :c"),
            {"c": sending.campaign_id},
        )
        await send_path.execute(
            text("SELECT id FROM campaign_recipients WHERE campaign_id = :c FOR UPDATE"),
            {"c": sending.campaign_id},
        )
        # Neither job may wait for the send path: a guard against a hang, not a measure of speed.
        await asyncio.wait_for(aggregate_clicks(engine, days_later(0)), 60)
        await asyncio.wait_for(archive_campaigns(engine, days_later(800)), 60)
        await send_path.commit()
    assert await rows_of(engine, "campaign_clicks", sending.campaign_id) == 0  # aggregated
    assert await rows_of(engine, "campaign_click_daily", sending.campaign_id) >= 1
    assert await rows_of(engine, "campaign_recipients", sending.campaign_id) == 3  # not archived
