"""The monthly reset of users.monthly_emails_sent: only counts of an earlier month are reset, so
a late run or a second one never wipes a send counted after the month began; and the send
paths' take counts afresh in a new month even before the reset ran."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from openmailer.adapters.db.email_logs import SqlAlchemySendQuota
from openmailer.adapters.db.monthly_quota import GIVE_BACK_QUOTA
from openmailer.adapters.db.users import SqlAlchemyUserRepository
from tests.integration.retention.retention_helpers import NOW, Seed, job_named, run

pytestmark = pytest.mark.integration

COUNTS = "SELECT id, monthly_emails_sent, monthly_emails_month FROM users ORDER BY id"
THIS_MONTH = NOW.date().replace(day=1)  # March 2031, the run's month
LAST_MONTH = date(2031, 2, 1)


async def test_a_late_or_second_reset_keeps_the_sends_of_the_new_month(engine: AsyncEngine) -> None:
    seed = Seed(engine)
    last_months = await seed.user(sent=900, month=LAST_MONTH)
    long_idle = await seed.user(sent=40, month=date(2030, 7, 1))
    never_dated = await seed.user(sent=0, month=None)
    # Sent on the 1st after midnight, before this (late: the 15th) run: counted for March.
    sent_this_month = await seed.user(sent=5, month=THIS_MONTH)
    reset = job_named("monthly-counters")

    dry = await run(reset, engine, dry_run=True, batch_size=2)
    assert await seed.value("SELECT sum(monthly_emails_sent) FROM users") == 945
    real = await run(reset, engine, batch_size=2)
    again = await run(reset, engine, batch_size=2)

    assert dry == real == {"users": 3}
    assert again == {"users": 0}
    assert await seed.rows(COUNTS) == [
        (last_months, 0, THIS_MONTH),
        (long_idle, 0, THIS_MONTH),
        (never_dated, 0, THIS_MONTH),
        (sent_this_month, 5, THIS_MONTH),
    ]


async def test_a_take_in_a_new_month_counts_afresh_and_a_stale_give_back_is_ignored(
    engine: AsyncEngine,
) -> None:
    """On the database's clock, as the send paths run: a user at the limit last month can send
    this month before any reset; a give-back counts against the month of its take only."""
    seed = Seed(engine)
    month = "date_trunc('month', timezone('UTC', now()))"
    current, previous = (
        await seed.rows(f"SELECT CAST({month} AS date), CAST({month} - interval '1 month' AS date)")
    )[0]
    at_limit_last_month = await seed.user(sent=1000, month=previous)
    at_limit_now = await seed.user(sent=1000, month=current)
    quota = SqlAlchemySendQuota(engine)

    assert await quota.take(at_limit_last_month, 3) is True
    assert await quota.take(at_limit_now, 1) is False

    async def give_back(user_id: int, count: int) -> None:
        async with engine.begin() as conn:
            await conn.execute(GIVE_BACK_QUOTA, {"user_id": user_id, "count": count})

    await give_back(at_limit_last_month, 2)  # taken this month: given back
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE users SET monthly_emails_month = :m WHERE id = :u"),
            {"m": previous, "u": at_limit_now},
        )
    await give_back(at_limit_now, 10)  # its take was last month's: nothing to give back now
    assert await seed.rows(COUNTS) == [
        (at_limit_last_month, 1, current),
        (at_limit_now, 1000, previous),
    ]


async def test_a_count_of_an_earlier_month_reads_as_zero_before_the_reset(
    engine: AsyncEngine,
) -> None:
    """What the usage endpoint and the preflight see on the 1st before the reset has run."""
    seed = Seed(engine)
    month = "date_trunc('month', timezone('UTC', now()))"
    current, previous = (
        await seed.rows(f"SELECT CAST({month} AS date), CAST({month} - interval '1 month' AS date)")
    )[0]
    users = SqlAlchemyUserRepository(engine)
    stale = await seed.user(sent=700, month=previous)
    counted = await seed.user(sent=12, month=current)
    undated = await seed.user(sent=30, month=None)  # set directly: trusted

    assert [(await users.get(user)).monthly_emails_sent for user in (stale, counted, undated)] == [
        0,
        12,
        30,
    ]
