"""Many stored events applied in one `process_many` call (one transaction): each event decided
from the state the batch's earlier events left, an unreadable event failing alone, an event
whose writes PostgreSQL refuses failing alone through the one-at-a-time fallback, and two
workers on the same ids applying each event once."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import text, update

from openmailer.adapters.db.tables import EmailCampaign
from openmailer.adapters.db.tables.campaigns import CampaignRecipient
from openmailer.adapters.db.tables.contacts import Contact
from openmailer.adapters.db.tables.sending import EmailLog, WebhookEvent
from openmailer.core.accounts.service import AccountsPorts as Accounts
from openmailer.core.events.formats import ses_stored_events
from openmailer.core.events.model import SES_SOURCE, WebhookSource
from openmailer.core.events.policy import SOFT_BOUNCE_LIMIT
from openmailer.core.events.service import EventsService
from tests.integration.accounts.accounts_helpers import engine_of
from tests.integration.webhooks.webhook_helpers import (
    SentCampaign,
    events_of,
    row,
    sent_campaign,
    ses_provider,
    stored_events,
)
from tests.webhook_signing import TOPIC_ARN, ses_bounce, ses_complaint, ses_delivery

pytestmark = pytest.mark.integration
EVENTS = WebhookEvent.__table__


async def store(
    events: EventsService, source: WebhookSource, *messages: dict[str, Any]
) -> list[int]:
    """Each SES message stored as its own SNS notification would be (verified already)."""
    ids = []
    for message in messages:
        envelope = {
            "Type": "Notification",
            "MessageId": str(uuid.uuid4()),
            "TopicArn": TOPIC_ARN,
            "Message": json.dumps(message),
            "Timestamp": "2026-12-02T00:00:00.000Z",
        }
        ids += await events.ports.events.add(source, ses_stored_events(envelope)[0])
    return ids


async def campaign_and_source(
    client: httpx.AsyncClient, accounts: Accounts, count: int
) -> tuple[SentCampaign, WebhookSource]:
    user, provider = await ses_provider(client, accounts)
    sent = await sent_campaign(engine_of(accounts), user, provider["id"], count)
    return sent, WebhookSource(provider["id"], user.id, SES_SOURCE, {})


async def test_one_call_applies_many_events_each_from_the_state_the_ones_before_left(
    client: httpx.AsyncClient,
    webhook_client: httpx.AsyncClient,
    webhook_app: Litestar,
    accounts: Accounts,
) -> None:
    events = events_of(webhook_app)
    engine = engine_of(accounts)
    sent, source = await campaign_and_source(client, accounts, 6)
    messages = [ses_delivery(m, [a]) for m, a in zip(sent.message_ids, sent.addresses, strict=True)]
    # Two hard bounces and a complaint of one campaign, and the first recipient's soft bounces
    # up to the limit: each must count from the one before it in the same transaction.
    messages += [ses_bounce(sent.message_ids[n], [sent.addresses[n]]) for n in (1, 2)]
    messages.append(ses_complaint(sent.message_ids[3], [sent.addresses[3]]))
    messages += [
        ses_bounce(sent.message_ids[0], [sent.addresses[0]], permanent=False)
        for _ in range(SOFT_BOUNCE_LIMIT)
    ]
    ids = await store(events, source, *messages)
    assert await events.process_many(ids) == len(ids)
    assert all(
        e.processed and e.attempts == 0 for e in await stored_events(engine, source.provider_id)
    )
    campaign = await row(engine, EmailCampaign.__table__, sent.campaign_id)
    # the first recipient bounced (softly) once as a recipient, recipients 1 and 2 hard
    assert (campaign.bounce_count, campaign.complaint_count) == (3, 1)
    assert str(campaign.bounce_rate) == "50.00"
    soft = await row(engine, Contact.__table__, sent.contact_ids[0])
    assert (soft.bounce_count, soft.bounce_type, soft.status) == (
        SOFT_BOUNCE_LIMIT,
        "SOFT",
        "BOUNCED",
    )
    statuses = [(await row(engine, Contact.__table__, c)).status for c in sent.contact_ids]
    assert statuses == ["BOUNCED", "BOUNCED", "BOUNCED", "COMPLAINED", "SUBSCRIBED", "SUBSCRIBED"]
    recipients = [(await row(engine, CampaignRecipient.__table__, r)) for r in sent.recipient_ids]
    assert [r.status for r in recipients] == ["BOUNCED"] * 3 + ["DELIVERED"] * 3
    assert all(r.delivered_at is not None for r in recipients)
    assert recipients[3].complained_at is not None
    logs = [(await row(engine, EmailLog.__table__, log_id)).status for log_id in sent.log_ids]
    assert logs == ["BOUNCED"] * 3 + ["DELIVERED"] * 3
    # a second call finds nothing left to apply and changes nothing twice
    assert await events.process_many(ids) == 0
    again = await row(engine, EmailCampaign.__table__, sent.campaign_id)
    assert (again.bounce_count, again.complaint_count) == (3, 1)


async def test_an_unreadable_event_fails_alone_and_the_others_are_applied(
    client: httpx.AsyncClient,
    webhook_client: httpx.AsyncClient,
    webhook_app: Litestar,
    accounts: Accounts,
) -> None:
    events = events_of(webhook_app)
    engine = engine_of(accounts)
    sent, source = await campaign_and_source(client, accounts, 3)
    ids = await store(
        events,
        source,
        *[ses_bounce(m, [a]) for m, a in zip(sent.message_ids, sent.addresses, strict=True)],
    )
    async with engine.begin() as conn:
        await conn.execute(
            update(EVENTS).where(EVENTS.c.id == ids[1]).values(payload={"Message": "{broken"})
        )
    assert await events.process_many(ids) == 2
    by_id = {e.id: e for e in await stored_events(engine, source.provider_id)}
    assert by_id[ids[0]].processed and by_id[ids[2]].processed
    poisoned = by_id[ids[1]]
    assert (poisoned.processed, poisoned.attempts) == (False, 1)
    assert "SES notification" in poisoned.error_message
    statuses = [(await row(engine, Contact.__table__, c)).status for c in sent.contact_ids]
    assert statuses == ["BOUNCED", "SUBSCRIBED", "BOUNCED"]
    assert (await row(engine, EmailCampaign.__table__, sent.campaign_id)).bounce_count == 2
    # retried in a later batch, it fails again and counts its second attempt
    assert await events.process_many(ids) == 0
    assert {e.id: e for e in await stored_events(engine, source.provider_id)}[ids[1]].attempts == 2


async def test_an_event_postgresql_refuses_fails_alone_through_the_one_at_a_time_fallback(
    client: httpx.AsyncClient,
    webhook_client: httpx.AsyncClient,
    webhook_app: Litestar,
    accounts: Accounts,
) -> None:
    events = events_of(webhook_app)
    engine = engine_of(accounts)
    sent, source = await campaign_and_source(client, accounts, 3)
    ids = await store(
        events,
        source,
        *[ses_delivery(m, [a]) for m, a in zip(sent.message_ids, sent.addresses, strict=True)],
    )
    refused = sent.recipient_ids[1]
    trigger = f"refuse_recipient_{refused}"
    async with engine.begin() as conn:
        # A real refusal from PostgreSQL for the middle recipient's row, as a constraint or a
        # broken row would give: the batch's transaction fails as a whole.
        await conn.execute(
            text(
                f"CREATE FUNCTION {trigger}() RETURNS trigger LANGUAGE plpgsql AS "
                f"$$ BEGIN RAISE EXCEPTION 'recipient {refused} refused'; END $$"
            )
        )
        await conn.execute(
            text(
                f"CREATE TRIGGER {trigger} BEFORE UPDATE ON campaign_recipients FOR EACH ROW "
                f"WHEN (OLD.id = {refused}) EXECUTE FUNCTION {trigger}()"
            )
        )
    try:
        assert await events.process_many(ids) == 2
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f"DROP TRIGGER {trigger} ON campaign_recipients"))
            await conn.execute(text(f"DROP FUNCTION {trigger}()"))
    by_id = {e.id: e for e in await stored_events(engine, source.provider_id)}
    assert by_id[ids[0]].processed and by_id[ids[2]].processed
    assert (by_id[ids[1]].processed, by_id[ids[1]].attempts) == (False, 1)
    assert f"recipient {refused} refused" in by_id[ids[1]].error_message
    recipients = [(await row(engine, CampaignRecipient.__table__, r)) for r in sent.recipient_ids]
    assert [r.status for r in recipients] == ["DELIVERED", "SENT", "DELIVERED"]
    # once the cause is gone, the retry applies it
    assert await events.process_many([ids[1]]) == 1
    assert (await row(engine, CampaignRecipient.__table__, refused)).status == "DELIVERED"


async def test_two_workers_on_the_same_ids_apply_each_event_once(
    client: httpx.AsyncClient,
    webhook_client: httpx.AsyncClient,
    webhook_app: Litestar,
    accounts: Accounts,
) -> None:
    events = events_of(webhook_app)
    engine = engine_of(accounts)
    sent, source = await campaign_and_source(client, accounts, 60)
    ids = await store(
        events,
        source,
        *[ses_bounce(m, [a]) for m, a in zip(sent.message_ids, sent.addresses, strict=True)],
        *[ses_complaint(m, [a]) for m, a in zip(sent.message_ids, sent.addresses, strict=True)],
    )
    # One worker from the front, the other from the back, each in transactions of
    # EVENTS_PER_TRANSACTION (100) of the 120: their first batches share 80 ids.
    first, second = await asyncio.gather(
        events.process_many(ids), events.process_many(list(reversed(ids)))
    )
    assert first + second == len(ids)
    stored = await stored_events(engine, source.provider_id)
    assert all(e.processed and e.attempts == 0 for e in stored)
    campaign = await row(engine, EmailCampaign.__table__, sent.campaign_id)
    assert (campaign.bounce_count, campaign.complaint_count) == (60, 60)
    contacts = [await row(engine, Contact.__table__, c) for c in sent.contact_ids]
    assert {(c.status, c.bounce_count, c.complaint_count) for c in contacts} == {
        ("COMPLAINED", 1, 1)
    }
