"""Processing from webhook_events: complaint-rate protection pauses a campaign with the reason
recorded; the periodic retry picks up events a lost message left, a failed event is retried a
bounded number of times; soft bounces bounce a contact at the documented count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import update

from openmailer.adapters.db.tables import EmailCampaign
from openmailer.adapters.db.tables.contacts import Contact
from openmailer.adapters.db.tables.sending import WebhookEvent
from openmailer.core.accounts.service import AccountsPorts as Accounts
from openmailer.core.events.policy import COMPLAINT_MIN_SAMPLE, SOFT_BOUNCE_LIMIT
from openmailer.core.events.service import MAX_ATTEMPTS
from tests.integration.accounts.accounts_helpers import api_key_for, engine_of
from tests.integration.webhooks.webhook_helpers import (
    SCOPES,
    events_of,
    row,
    sent_campaign,
    ses_provider,
    stored_events,
)
from tests.webhook_signing import SnsSigner, ses_bounce, ses_complaint

pytestmark = pytest.mark.integration
EVENTS = WebhookEvent.__table__


async def test_a_campaign_pauses_itself_when_complaints_reach_the_limit(
    client: httpx.AsyncClient,
    webhook_client: httpx.AsyncClient,
    webhook_app: Litestar,
    accounts: Accounts,
    sns_signer: SnsSigner,
) -> None:
    user, provider = await ses_provider(client, accounts)
    engine = engine_of(accounts)
    sent = await sent_campaign(engine, user, provider["id"], COMPLAINT_MIN_SAMPLE)
    # 0.3% of 1000 is 3: the third complaint pauses the campaign, the second does not.
    for number in range(3):
        body = sns_signer.notification(
            ses_complaint(sent.message_ids[number], [sent.addresses[number]])
        )
        assert (await webhook_client.post(provider["webhook_path"], content=body)).json()[
            "stored"
        ] == 1
        ids = [e.id for e in await stored_events(engine, provider["id"]) if not e.processed]
        assert await events_of(webhook_app).process_many(ids) == 1
        campaign = await row(engine, EmailCampaign.__table__, sent.campaign_id)
        assert campaign.complaint_count == number + 1
        assert campaign.status == ("PAUSED" if number == 2 else "SENDING")
    assert campaign.pause_reason is not None
    assert "0.30%" in campaign.pause_reason and "3 of 1000" in campaign.pause_reason
    complained = await row(engine, Contact.__table__, sent.contact_ids[2])
    assert complained.status == "COMPLAINED"
    caller = await api_key_for(accounts, user, SCOPES)
    shown = (
        await client.get(f"/api/v1/campaigns/{sent.campaign_id}", headers=caller.headers)
    ).json()
    assert (shown["status"], shown["complaint_count"], shown["complaint_health"]) == (
        "PAUSED",
        3,
        "over_limit",
    )
    assert shown["pause_reason"] == campaign.pause_reason


async def test_the_periodic_retry_processes_what_a_lost_message_left(
    client: httpx.AsyncClient,
    webhook_client: httpx.AsyncClient,
    webhook_app: Litestar,
    accounts: Accounts,
    sns_signer: SnsSigner,
) -> None:
    user, provider = await ses_provider(client, accounts)
    engine = engine_of(accounts)
    sent = await sent_campaign(engine, user, provider["id"], 3)
    for number in range(3):
        body = sns_signer.notification(
            ses_bounce(sent.message_ids[number], [sent.addresses[number]])
        )
        assert (
            await webhook_client.post(provider["webhook_path"], content=body)
        ).status_code == 200
    first, second, third = [e.id for e in await stored_events(engine, provider["id"])]
    old = (datetime.now(UTC) - timedelta(minutes=5)).replace(tzinfo=None)
    async with engine.begin() as conn:
        # `first` was stored a while ago and its message lost; `second` failed too often
        # already; `third` is fresh and left to the worker its request woke.
        await conn.execute(update(EVENTS).where(EVENTS.c.id == first).values(created_at=old))
        await conn.execute(
            update(EVENTS)
            .where(EVENTS.c.id == second)
            .values(created_at=old, attempts=MAX_ATTEMPTS, error_message="failed before")
        )
    await events_of(webhook_app).retry_pending()
    by_id = {e.id: e for e in await stored_events(engine, provider["id"])}
    assert by_id[first].processed is True
    assert by_id[second].processed is False and by_id[second].error_message == "failed before"
    assert by_id[third].processed is False
    assert (await row(engine, Contact.__table__, sent.contact_ids[0])).status == "BOUNCED"
    assert (await row(engine, Contact.__table__, sent.contact_ids[1])).status == "SUBSCRIBED"


async def test_a_failed_event_records_its_attempt_and_changes_nothing(
    client: httpx.AsyncClient,
    webhook_client: httpx.AsyncClient,
    webhook_app: Litestar,
    accounts: Accounts,
    sns_signer: SnsSigner,
) -> None:
    user, provider = await ses_provider(client, accounts)
    engine = engine_of(accounts)
    sent = await sent_campaign(engine, user, provider["id"], 1)
    body = sns_signer.notification(ses_bounce(sent.message_ids[0], [sent.addresses[0]]))
    await webhook_client.post(provider["webhook_path"], content=body)
    (event,) = await stored_events(engine, provider["id"])
    # A payload the processing cannot read (stored by an older version, say) fails each time.
    async with engine.begin() as conn:
        await conn.execute(
            update(EVENTS).where(EVENTS.c.id == event.id).values(payload={"Message": "{broken"})
        )
    assert await events_of(webhook_app).process(event.id) is False
    assert await events_of(webhook_app).process(event.id) is False
    (failed,) = await stored_events(engine, provider["id"])
    assert (failed.processed, failed.attempts) == (False, 2)
    assert "malformed" in failed.error_message or "SES notification" in failed.error_message
    assert (await row(engine, Contact.__table__, sent.contact_ids[0])).status == "SUBSCRIBED"


async def test_soft_bounces_bounce_a_contact_at_the_documented_count(
    client: httpx.AsyncClient,
    webhook_client: httpx.AsyncClient,
    webhook_app: Litestar,
    accounts: Accounts,
    sns_signer: SnsSigner,
) -> None:
    user, provider = await ses_provider(client, accounts)
    engine = engine_of(accounts)
    first = await sent_campaign(engine, user, provider["id"], 1)
    for number in range(1, SOFT_BOUNCE_LIMIT + 1):
        # one campaign per bounce, to the same contact
        sent = (
            first if number == 1 else await sent_campaign(engine, user, provider["id"], 1, to=first)
        )
        body = sns_signer.notification(
            ses_bounce(sent.message_ids[0], sent.addresses, permanent=False)
        )
        await webhook_client.post(provider["webhook_path"], content=body)
        ids = [e.id for e in await stored_events(engine, provider["id"]) if not e.processed]
        await events_of(webhook_app).process_many(ids)
        contact = await row(engine, Contact.__table__, first.contact_ids[0])
        assert contact.bounce_count == number
        assert contact.bounce_type == "SOFT"
        assert contact.status == ("BOUNCED" if number == SOFT_BOUNCE_LIMIT else "SUBSCRIBED")


async def test_the_worker_actors_process_and_retry_from_the_environment(
    client: httpx.AsyncClient,
    webhook_client: httpx.AsyncClient,
    accounts: Accounts,
    sns_signer: SnsSigner,
    cli_env: object,
) -> None:
    """The dramatiq actors' functions, as a worker runs them (their own database connection,
    settings from the environment; asyncio.run in a thread like a worker's)."""
    import asyncio

    from openmailer.adapters.areas.webhooks import process_webhook_events, retry_webhook_events

    user, provider = await ses_provider(client, accounts)
    engine = engine_of(accounts)
    sent = await sent_campaign(engine, user, provider["id"], 2)
    for number in range(2):
        body = sns_signer.notification(
            ses_complaint(sent.message_ids[number], [sent.addresses[number]])
        )
        await webhook_client.post(provider["webhook_path"], content=body)
    woken, lost = [e.id for e in await stored_events(engine, provider["id"])]
    await asyncio.to_thread(process_webhook_events, [woken])
    old = (datetime.now(UTC) - timedelta(minutes=5)).replace(tzinfo=None)
    async with engine.begin() as conn:
        await conn.execute(update(EVENTS).where(EVENTS.c.id == lost).values(created_at=old))
    await asyncio.to_thread(retry_webhook_events)
    assert all(e.processed for e in await stored_events(engine, provider["id"]))
    statuses = {(await row(engine, Contact.__table__, c)).status for c in sent.contact_ids}
    assert statuses == {"COMPLAINED"}
