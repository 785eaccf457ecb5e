"""Which campaigns a scrape reports: SENDING ones first, then SENT or PAUSED ones of the last
days, never older or unsent ones, and never more than the cap."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import text

from openmailer.adapters.db.operations_figures import recent_campaign_figures
from openmailer.core.accounts.service import AccountsPorts as Accounts
from tests.integration.accounts.accounts_helpers import engine_of, make_user

pytestmark = pytest.mark.integration
DAY = "interval '1 day'"


async def test_sending_then_recent_sent_or_paused_campaigns_are_reported(
    accounts: Accounts,
) -> None:
    engine = engine_of(accounts)
    user = await make_user(accounts)
    now = "timezone('UTC', now())"
    shapes = {  # name -> status, sent_at, updated_at
        "sending": ("SENDING", "NULL", now),
        "sent-yesterday": ("SENT", f"{now} - {DAY}", now),
        "sent-last-month": ("SENT", f"{now} - 30 * {DAY}", f"{now} - 30 * {DAY}"),
        "paused-today": ("PAUSED", "NULL", now),
        "paused-long-ago": ("PAUSED", "NULL", f"{now} - 30 * {DAY}"),
        "draft": ("DRAFT", "NULL", now),
    }
    ids: dict[str, int] = {}
    async with engine.begin() as conn:
        template = (
            await conn.execute(
                text(
                    "INSERT INTO email_templates (name, subject, body, created_by)"
                    " VALUES (:name, 's', 'b', :user) RETURNING id"
                ),
                {"name": f"figures {os.getpid()} {user.id}", "user": user.id},
            )
        ).scalar_one()
        for name, (status, sent_at, updated_at) in shapes.items():
            ids[name] = (
                await conn.execute(
                    text(
                        "INSERT INTO email_campaigns (name, template_id, created_by, status,"
                        " sent_at, updated_at, sent_count, bounce_count, complaint_count,"
                        f" send_speed) VALUES (:name, :template, :user, :status, {sent_at},"
                        f" {updated_at}, 200, 4, 1, 150) RETURNING id"
                    ),
                    {"name": name, "template": template, "user": user.id, "status": status},
                )
            ).scalar_one()
    try:
        figures = await recent_campaign_figures(engine, days=7, limit=1000)
        reported = [f.campaign_id for f in figures]
        mine = [campaign_id for campaign_id in reported if campaign_id in ids.values()]
        assert set(mine) == {ids["sending"], ids["sent-yesterday"], ids["paused-today"]}
        assert reported.index(ids["sending"]) < reported.index(ids["sent-yesterday"])
        sending = next(f for f in figures if f.campaign_id == ids["sending"])
        assert (sending.status, sending.send_speed, sending.sent, sending.bounced) == (
            "SENDING",
            150,
            200,
            4,
        )
        assert sending.complaints == 1
        assert len(await recent_campaign_figures(engine, days=7, limit=1)) == 1
    finally:
        async with engine.begin() as conn:
            await conn.execute(
                text("DELETE FROM email_campaigns WHERE id = ANY(:ids)"),
                {"ids": list(ids.values())},
            )
