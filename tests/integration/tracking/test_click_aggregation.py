"""The monthly click aggregation on real rows: old `campaign_clicks` summed into
`campaign_click_daily` and deleted, each user's click-log choice honoured, in batches, and the
statistics answer the same before and after."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from openmailer.adapters.db.click_rollup import aggregate_clicks
from openmailer.core.accounts.service import AccountsPorts as Accounts
from tests.integration.accounts.accounts_helpers import engine_of, make_user
from tests.integration.tracking.retention_helpers import (
    add_clicks,
    choose,
    days_later,
    rows_of,
    table_rows,
    tracked_campaign,
    utc_now,
)
from tests.integration.tracking.tracking_helpers import send_campaign, stats_of

pytestmark = pytest.mark.integration
NOTHING_LEFT = {"campaign_clicks": 0, "tracking_events_anonymised": 0}


async def daily_rows(
    engine: AsyncEngine, campaign_id: int
) -> dict[tuple[int, str], tuple[int, int]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT link_id, day, clicks, machine_clicks FROM campaign_click_daily"
                " WHERE campaign_id = :c"
            ),
            {"c": campaign_id},
        )
        return {
            (row.link_id, row.day.isoformat()): (row.clicks, row.machine_clicks) for row in rows
        }


async def test_old_clicks_are_summed_by_day_and_the_stats_read_the_same(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    engine = engine_of(accounts)
    tracked = await tracked_campaign(app, client, accounts)
    await choose(engine, tracked.user, click_logs="30d")
    campaign_id = tracked.campaign.campaign_id
    before = await stats_of(client, accounts, tracked.user, campaign_id)
    assert before["human"]["clicks"] == 4 and before["machine"]["clicks"] == 1
    assert [link["machine_clicks"] for link in before["links"]] == [0, 1]

    assert await aggregate_clicks(engine, days_later(29)) == NOTHING_LEFT  # not old enough yet
    clicks_before = await table_rows(engine, "campaign_clicks")
    preview = await aggregate_clicks(engine, days_later(31, dry_run=True))
    assert preview["campaign_clicks"] >= 5 and preview["tracking_events_anonymised"] >= 5
    assert await table_rows(engine, "campaign_clicks") == clicks_before  # a dry run: unchanged
    assert await daily_rows(engine, campaign_id) == {}

    assert await aggregate_clicks(engine, days_later(31)) == preview
    assert await rows_of(engine, "campaign_clicks", campaign_id) == 0
    today = utc_now().date().isoformat()
    first, second = tracked.campaign.link_ids
    assert await daily_rows(engine, campaign_id) == {
        (first, today): (3, 0),
        (second, today): (1, 1),
    }
    async with engine.connect() as conn:
        events = (
            await conn.execute(
                text(
                    "SELECT count(*), count(ip_address), count(user_agent) FROM tracking_events"
                    " WHERE campaign_id = :c AND kind = 'click'"
                ),
                {"c": campaign_id},
            )
        ).one()
    assert tuple(events) == (5, 0, 0)  # kept for the series, their personal detail cleared
    assert await stats_of(client, accounts, tracked.user, campaign_id) == before

    assert await aggregate_clicks(engine, days_later(31)) == NOTHING_LEFT  # idempotent
    assert await daily_rows(engine, campaign_id) == {
        (first, today): (3, 0),
        (second, today): (1, 1),
    }


async def test_each_user_keeps_clicks_for_the_time_they_chose(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    engine = engine_of(accounts)
    month, year, default = [await make_user(accounts) for _ in range(3)]
    await choose(engine, month, click_logs="30d")
    await choose(engine, year, click_logs="1y")  # `default` has no row: 90 days
    campaigns = {
        user.id: await tracked_campaign(app, client, accounts, user=user)
        for user in (month, year, default)
    }
    before = {
        user_id: await stats_of(client, accounts, t.user, t.campaign.campaign_id)
        for user_id, t in campaigns.items()
    }

    async def clicks_left() -> list[int]:
        return [
            await rows_of(engine, "campaign_clicks", campaigns[user.id].campaign.campaign_id)
            for user in (month, year, default)
        ]

    await aggregate_clicks(engine, days_later(31))
    assert await clicks_left() == [0, 5, 5]
    await aggregate_clicks(engine, days_later(91))
    assert await clicks_left() == [0, 5, 0]
    await aggregate_clicks(engine, days_later(366))
    assert await clicks_left() == [0, 0, 0]
    for user_id, tracked in campaigns.items():
        after = await stats_of(client, accounts, tracked.user, tracked.campaign.campaign_id)
        assert after == before[user_id]


async def test_many_clicks_in_small_batches_are_each_counted_once(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    engine = engine_of(accounts)
    user = await make_user(accounts)
    await choose(engine, user, click_logs="30d")
    campaign = await send_campaign(app, engine, user.id, recipients=3, sent_ago=timedelta(days=45))
    start = utc_now() - timedelta(days=40)
    await add_clicks(
        engine, campaign, count=23, at=start, machine_every=3, spacing=timedelta(hours=5)
    )
    # Five more at one instant: pages of events must not lose ties at their edges.
    await add_clicks(engine, campaign, count=5, at=start, machine_every=2, spacing=timedelta(0))
    async with engine.connect() as conn:
        grouped = await conn.execute(
            text(
                "SELECT link_id, CAST(clicked_at AS DATE) AS day,"
                " count(*) FILTER (WHERE NOT is_machine) AS clicks,"
                " count(*) FILTER (WHERE is_machine) AS machines"
                " FROM campaign_clicks WHERE campaign_id = :c GROUP BY 1, 2"
            ),
            {"c": campaign.campaign_id},
        )
        expected = {
            (row.link_id, row.day.isoformat()): (row.clicks, row.machines) for row in grouped
        }
    assert len({day for _, day in expected}) >= 4  # spread over several days
    before = await stats_of(client, accounts, user, campaign.campaign_id)
    assert sum(link["machine_clicks"] for link in before["links"]) == 11

    preview = await aggregate_clicks(engine, days_later(0, dry_run=True))
    report = await aggregate_clicks(engine, days_later(0, batch_size=4))
    assert report == preview and report["campaign_clicks"] >= 28
    assert report["tracking_events_anonymised"] >= 28

    assert await daily_rows(engine, campaign.campaign_id) == expected
    assert await rows_of(engine, "campaign_clicks", campaign.campaign_id) == 0
    async with engine.connect() as conn:
        identified = await conn.scalar(
            text(
                "SELECT count(*) FROM tracking_events WHERE campaign_id = :c"
                " AND (ip_address IS NOT NULL OR user_agent IS NOT NULL)"
            ),
            {"c": campaign.campaign_id},
        )
    assert identified == 0
    assert await stats_of(client, accounts, user, campaign.campaign_id) == before
    assert await aggregate_clicks(engine, days_later(0, batch_size=4)) == NOTHING_LEFT


async def test_a_click_arriving_meanwhile_is_kept_and_a_busy_row_waits_for_the_next_run(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts
) -> None:
    engine = engine_of(accounts)
    user = await make_user(accounts)
    await choose(engine, user, click_logs="30d")
    campaign = await send_campaign(app, engine, user.id, recipients=3, sent_ago=timedelta(days=45))
    await add_clicks(engine, campaign, count=6, at=utc_now() - timedelta(days=40), machine_every=2)
    async with engine.connect() as busy, engine.connect() as arriving:
        await busy.begin()  # an erasure, say, holding one old click
        held = await busy.scalar(
            text(
                "SELECT id FROM campaign_clicks WHERE campaign_id = :c ORDER BY id LIMIT 1"
                " FOR UPDATE"
            ),
            {"c": campaign.campaign_id},
        )
        await arriving.begin()  # the tracking applier's batch, not committed yet
        await add_clicks(arriving, campaign, count=1, at=utc_now() - timedelta(days=1))
        # Not waiting on either: a guard against a hang, not a measure of speed.
        await asyncio.wait_for(aggregate_clicks(engine, days_later(0, batch_size=2)), 60)
        await arriving.commit()
        await busy.rollback()
    async with engine.connect() as conn:
        left = (
            (
                await conn.execute(
                    text("SELECT id FROM campaign_clicks WHERE campaign_id = :c ORDER BY id"),
                    {"c": campaign.campaign_id},
                )
            )
            .scalars()
            .all()
        )
    assert len(left) == 2 and left[0] == held  # the busy old one, and the new one
    summed = await daily_rows(engine, campaign.campaign_id)
    assert sum(clicks + machines for clicks, machines in summed.values()) == 5

    stats = await stats_of(client, accounts, user, campaign.campaign_id)
    await aggregate_clicks(engine, days_later(0))
    assert await rows_of(engine, "campaign_clicks", campaign.campaign_id) == 1  # the new one
    assert await stats_of(client, accounts, user, campaign.campaign_id) == stats
    assert sum(link["machine_clicks"] for link in stats["links"]) == 3
