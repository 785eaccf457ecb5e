"""Rows the webhooks tests stand on: SES and SendGrid providers made through the API, and a
campaign already sent (recipients SENT, one email log each with its provider message id) made
directly, as the send path leaves them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from litestar import Litestar
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from openmailer.adapters.db.tables import EmailCampaign
from openmailer.adapters.db.tables.campaigns import CampaignRecipient
from openmailer.adapters.db.tables.contacts import Contact
from openmailer.adapters.db.tables.sending import EmailLog, WebhookEvent
from openmailer.core.accounts.model import User
from openmailer.core.accounts.service import AccountsPorts as Accounts
from openmailer.core.events.service import EventsService
from tests.integration.accounts.accounts_helpers import Caller, api_key_for, make_user
from tests.integration.campaigns.campaign_helpers import add_template
from tests.webhook_signing import TOPIC_ARN

SES_CONFIGURATION = {
    "region": "eu-west-1",
    "access_key_id": "AKIAIOSFODNN7EXAMPLE",
    "secret_access_key": "secret",
    "sns_topic_arns": [TOPIC_ARN],
}


SCOPES = ["read:campaigns", "write:campaigns"]


async def ses_provider(
    client: httpx.AsyncClient, accounts: Accounts
) -> tuple[User, dict[str, Any]]:
    """A new user with an SES provider (made through the API) whose topic is the tests'."""
    user = await make_user(accounts)
    caller = await api_key_for(accounts, user, SCOPES)
    return user, await add_provider(client, caller, "SES", SES_CONFIGURATION)


async def add_provider(
    client: httpx.AsyncClient, caller: Caller, provider_type: str, configuration: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/providers",
        headers=caller.headers,
        json={
            "provider_type": provider_type,
            "provider_name": f"{provider_type.lower()} events",
            "configuration": configuration,
        },
    )
    assert response.status_code == 201, response.text
    provider: dict[str, Any] = response.json()
    return provider


@dataclass(frozen=True)
class SentCampaign:
    campaign_id: int
    addresses: list[str]
    message_ids: list[str]
    contact_ids: list[int]
    recipient_ids: list[int]
    log_ids: list[int]


async def sent_campaign(
    engine: AsyncEngine,
    user: User,
    provider_id: int,
    count: int,
    *,
    shared_message_id: str | None = None,
    to: SentCampaign | None = None,
) -> SentCampaign:
    """A SENDING campaign whose `count` messages left through the provider (to new contacts,
    or to the contacts of the campaign `to`). SendGrid gives one X-Message-Id per request:
    `shared_message_id` stands for that."""
    template_id = await add_template(engine, user)
    run = uuid.uuid4().hex[:10]
    addresses = to.addresses[:count] if to else [f"r{i}-{run}@example.org" for i in range(count)]
    message_ids = [shared_message_id or f"ses-{run}-{i}" for i in range(count)]
    async with engine.begin() as conn:
        campaign_id = (
            await conn.execute(
                insert(EmailCampaign.__table__)
                .values(
                    name=f"campaign {run}",
                    template_id=template_id,
                    created_by=user.id,
                    from_email="news@example.com",
                    status="SENDING",
                    total_recipients=count,
                    sent_count=count,
                    provider_id=provider_id,
                )
                .returning(EmailCampaign.__table__.c.id)
            )
        ).scalar_one()
        contact_ids = (
            to.contact_ids[:count]
            if to
            else list(
                (
                    await conn.execute(
                        insert(Contact.__table__)
                        .values(
                            [
                                {"user_id": user.id, "email": address, "status": "SUBSCRIBED"}
                                for address in addresses
                            ]
                        )
                        .returning(Contact.__table__.c.id)
                    )
                ).scalars()
            )
        )
        recipient_ids = list(
            (
                await conn.execute(
                    insert(CampaignRecipient.__table__)
                    .values(
                        [
                            {"campaign_id": campaign_id, "contact_id": contact_id, "status": "SENT"}
                            for contact_id in contact_ids
                        ]
                    )
                    .returning(CampaignRecipient.__table__.c.id)
                )
            ).scalars()
        )
        log_ids = list(
            (
                await conn.execute(
                    insert(EmailLog.__table__)
                    .values(
                        [
                            {
                                "user_id": user.id,
                                "campaign_id": campaign_id,
                                "recipient_id": recipient_id,
                                "provider_id": provider_id,
                                "email_type": "CAMPAIGN",
                                "recipient_email": address,
                                "status": "SENT",
                                "provider_message_id": message_id,
                            }
                            for recipient_id, address, message_id in zip(
                                recipient_ids, addresses, message_ids, strict=True
                            )
                        ]
                    )
                    .returning(EmailLog.__table__.c.id)
                )
            ).scalars()
        )
    return SentCampaign(campaign_id, addresses, message_ids, contact_ids, recipient_ids, log_ids)


async def stored_events(engine: AsyncEngine, provider_id: int) -> list[Any]:
    table = WebhookEvent.__table__
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(table).where(table.c.provider_id == provider_id).order_by(table.c.id)
        )
        return list(rows)


async def row(engine: AsyncEngine, table: Any, row_id: int) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(select(table).where(table.c.id == row_id))).one()


def events_of(app: Litestar) -> EventsService:
    """The app's events service (the test's webhook client started the app)."""
    service: EventsService = app.state.services["events"]
    return service
