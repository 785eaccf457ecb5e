"""The worker actors' own counts, with the actors run as a worker runs them (their own event
loop, resources from the environment): opens buffered by the pixel and flushed by the drain,
stored webhook events taken up."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from litestar import Litestar
from prometheus_client import REGISTRY

from openmailer.adapters.areas.tracking import drain_tracking_events
from openmailer.adapters.areas.webhooks import process_webhook_events
from openmailer.adapters.settings import Settings
from openmailer.core.accounts.service import AccountsPorts as Accounts
from tests.integration.accounts.accounts_helpers import engine_of, make_user
from tests.integration.metrics.metrics_helpers import value
from tests.integration.tracking.tracking_helpers import BROWSER, send_campaign

pytestmark = pytest.mark.integration


def counted(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def buffered(client: httpx.AsyncClient) -> float:
    response = await client.get("/metrics")
    assert response.status_code == 200
    return value(response.text, "openmailer_tracking_events_buffered")


async def test_opens_are_buffered_then_flushed_by_the_drain(
    app: Litestar, client: httpx.AsyncClient, accounts: Accounts, cli_env: Settings
) -> None:
    await asyncio.to_thread(drain_tracking_events)  # whatever earlier tests left
    user = await make_user(accounts)
    campaign = await send_campaign(
        app, engine_of(accounts), user.id, recipients=3, sent_ago=timedelta(hours=1)
    )
    empty = await buffered(client)
    for mail in campaign.mails:
        response = await client.get(mail.pixel, headers={"User-Agent": BROWSER})
        assert response.status_code == 200
    assert await buffered(client) == empty + 3
    flushed = counted("openmailer_tracking_events_flushed_total")
    await asyncio.to_thread(drain_tracking_events)
    assert counted("openmailer_tracking_events_flushed_total") == flushed + 3
    assert await buffered(client) == empty


async def test_webhook_events_a_worker_could_not_apply_are_counted(cli_env: Settings) -> None:
    name = "openmailer_webhook_events_processed_total"
    before = counted(name, result="not_applied")
    await asyncio.to_thread(process_webhook_events, [2_000_000_000, 2_000_000_001])  # no such rows
    assert counted(name, result="not_applied") == before + 2
