"""Campaigns with real tracking history (people's and machines' opens and clicks through the
app, the buffer drained as the worker does), their owners' retention choices, and a clock
moved forward to age them.

The suite's database is shared by every test of the session, so the monthly jobs age every
campaign in it: a test that asserts exact counts gives its users a choice no other test's user
has at that age (a 30-day click log, a one-year report), or compares with a dry run taken just
before.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from litestar import Litestar
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openmailer.core.accounts.model import User
from openmailer.core.accounts.service import AccountsPorts as Accounts
from openmailer.core.retention.model import RetentionRun
from tests.integration.accounts.accounts_helpers import engine_of, make_user
from tests.integration.tracking.tracking_helpers import (
    BROWSER,
    SentCampaign,
    drain_buffer,
    send_campaign,
)

SCANNER = "Barracuda Sentinel (link check)"
APPLE_MPP = "Mozilla/5.0"


@dataclass
class Tracked:
    user: User
    campaign: SentCampaign


async def tracked_campaign(
    app: Litestar,
    client: httpx.AsyncClient,
    accounts: Accounts,
    *,
    user: User | None = None,
    recipients: int = 3,
) -> Tracked:
    """Sent an hour ago to `recipients` (3 at least); the first opens twice and clicks both
    links (the first twice), the second clicks the first link, a scanner clicks the second link
    of the third, whose open is Apple's privacy proxy."""
    owner = user or await make_user(accounts)
    campaign = await send_campaign(
        app, engine_of(accounts), owner.id, recipients=recipients, sent_ago=timedelta(hours=1)
    )
    first, second, third = campaign.mails[:3]
    browser = {"User-Agent": BROWSER}
    for path in (first.pixel, first.pixel, *first.clicks, first.clicks[0], second.clicks[0]):
        assert (await client.get(path, headers=browser)).status_code in (200, 302)
    assert (await client.get(third.clicks[1], headers={"User-Agent": SCANNER})).status_code == 302
    assert (await client.get(third.pixel, headers={"User-Agent": APPLE_MPP})).status_code == 200
    await drain_buffer(app)
    return Tracked(owner, campaign)


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def days_later(days: int, *, batch_size: int = 5_000, dry_run: bool = False) -> RetentionRun:
    """A run whose clock is `days` ahead of the rows just written (their clock is the real one)."""
    return RetentionRun(
        now=utc_now() + timedelta(days=days), dry_run=dry_run, batch_size=batch_size
    )


async def choose(
    engine: AsyncEngine,
    user: User,
    *,
    campaign_reports: str = "2y",
    click_logs: str = "90d",
) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO user_retention_settings (user_id, campaign_reports, click_logs)"
                " VALUES (:user, :reports, :clicks)"
            ),
            {"user": user.id, "reports": campaign_reports, "clicks": click_logs},
        )


async def rows_of(engine: AsyncEngine, table: str, campaign_id: int) -> int:
    """`table`'s rows of the campaign (a constant of the calling test, never input)."""
    async with engine.connect() as conn:
        return int(
            await conn.scalar(
                text(f"SELECT count(*) FROM {table} WHERE campaign_id = :c"),
                {"c": campaign_id},
            )
            or 0
        )


async def table_rows(engine: AsyncEngine, table: str) -> list[tuple[object, ...]]:
    """Every row of `table`, sorted: a whole table's state, to see a dry run change nothing."""
    async with engine.connect() as conn:
        rows = await conn.execute(text(f"SELECT * FROM {table}"))
        return sorted((tuple(row) for row in rows), key=repr)


async def add_clicks(
    target: AsyncEngine | AsyncConnection,
    campaign: SentCampaign,
    *,
    count: int,
    at: datetime,
    machine_every: int = 0,
    spacing: timedelta = timedelta(minutes=1),
) -> None:
    """`count` clicks from `at` on, `spacing` apart, written as the tracking handlers write
    them (a click row and its event), spread over the recipients and links; every
    `machine_every`-th (from the first) a scanner's. On a connection: in its transaction."""
    if isinstance(target, AsyncEngine):
        async with target.begin() as conn:
            await add_clicks(
                conn, campaign, count=count, at=at, machine_every=machine_every, spacing=spacing
            )
        return
    for number in range(count):
        values = {
            "campaign": campaign.campaign_id,
            "recipient": campaign.mails[number % len(campaign.mails)].recipient_id,
            "link": campaign.link_ids[number % len(campaign.link_ids)],
            "at": at + number * spacing,
            "machine": bool(machine_every) and number % machine_every == 0,
            "event": f"{os.getpid()}-{campaign.campaign_id}-{number}-{os.urandom(4).hex()}",
        }
        await target.execute(
            text(
                "INSERT INTO campaign_clicks (campaign_id, recipient_id, link_id, clicked_at,"
                " ip_address, user_agent, is_machine)"
                " VALUES (:campaign, :recipient, :link, :at, '192.0.2.1', 'agent', :machine)"
            ),
            values,
        )
        await target.execute(
            text(
                "INSERT INTO tracking_events (event_id, kind, campaign_id, recipient_id,"
                " link_id, occurred_at, is_machine, ip_address, user_agent)"
                " VALUES (:event, 'click', :campaign, :recipient, :link, :at, :machine,"
                " '192.0.2.1', 'agent')"
            ),
            values,
        )
