"""Rows the recipient pages stand on: an owner with lists, a subscribed contact on them, a
campaign that mailed it (its campaign_recipients row made directly, as the send path would),
and the tokens its mail would carry."""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from litestar import Litestar
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from openmailer.adapters.db.tables import CampaignRecipient, Contact, ContactList, EmailCampaign
from openmailer.adapters.db.tables import ContactListMembership as Membership
from openmailer.core.accounts.model import User
from openmailer.core.accounts.service import AccountsPorts as Accounts
from openmailer.core.audience.model import ContactStatus, NewContact
from openmailer.core.audience.service import AudienceService
from openmailer.core.campaigns.tokens import TokenPurpose, issue_token
from openmailer.core.recipients.service import RecipientPagesService
from tests.integration.accounts.accounts_helpers import engine_of, make_user
from tests.integration.audience.audience_helpers import new_address, principal_of
from tests.integration.campaigns.campaign_helpers import foreign_campaign

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def pages_of(app: Litestar) -> RecipientPagesService:
    pages: RecipientPagesService = app.state.services["pages"]
    return pages


def audience_of_app(app: Litestar) -> AudienceService:
    audience: AudienceService = app.state.services["audience"]
    return audience


@dataclass(frozen=True)
class Mailed:
    owner: User
    contact_id: int
    email: str
    list_ids: list[int]
    campaign_id: int
    tracking_id: str
    unsubscribe_token: str
    preferences_token: str

    @property
    def unsubscribe_path(self) -> str:
        return f"/u/{self.unsubscribe_token}"

    @property
    def preferences_path(self) -> str:
        return f"/p/{self.preferences_token}"


async def mailed_recipient(
    app: Litestar, accounts: Accounts, *, lists: int = 2, status: ContactStatus | None = None
) -> Mailed:
    owner = await make_user(accounts)
    audience = audience_of_app(app)
    principal = principal_of(owner)
    list_ids = [
        (await audience.create_list(principal, f"List {n} {secrets.token_hex(3)}")).id
        for n in range(lists)
    ]
    email = new_address("reader")
    contact = await audience.create_contact(
        principal, NewContact(email=email, status=status or ContactStatus.SUBSCRIBED)
    )
    for list_id in list_ids:
        await audience.add_members(principal, list_id, contact_ids=[contact.id], emails=[])
    campaign_id = await foreign_campaign(accounts, owner)
    tracking_id = secrets.token_hex(8)
    async with engine_of(accounts).begin() as conn:
        await conn.execute(
            insert(CampaignRecipient.__table__).values(
                campaign_id=campaign_id,
                contact_id=contact.id,
                tracking_id=tracking_id,
                status="SENT",
            )
        )
    key = await pages_of(app).ports.key.get()
    return Mailed(
        owner=owner,
        contact_id=contact.id,
        email=email,
        list_ids=list_ids,
        campaign_id=campaign_id,
        tracking_id=tracking_id,
        unsubscribe_token=issue_token(key, TokenPurpose.UNSUBSCRIBE, tracking_id),
        preferences_token=issue_token(key, TokenPurpose.PREFERENCES, tracking_id),
    )


async def eventually_equal(
    read: Callable[[], Awaitable[Any]], expected: Any, *, within_seconds: float = 10.0
) -> None:
    """For what the server does after its answer (the counts an unsubscribe moves): poll."""
    deadline = asyncio.get_running_loop().time() + within_seconds
    while (value := await read()) != expected:
        assert asyncio.get_running_loop().time() < deadline, (value, expected)
        await asyncio.sleep(0.05)


async def contact_row(engine: AsyncEngine, contact_id: int) -> Any:
    table = Contact.__table__
    async with engine.connect() as conn:
        return (await conn.execute(select(table).where(table.c.id == contact_id))).one()


async def memberships(engine: AsyncEngine, contact_id: int) -> dict[int, str]:
    table = Membership.__table__
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(table.c.list_id, table.c.status).where(table.c.contact_id == contact_id)
        )
        return {row.list_id: row.status for row in rows}


async def unsubscribe_count(engine: AsyncEngine, campaign_id: int) -> int:
    table = EmailCampaign.__table__
    async with engine.connect() as conn:
        return int(
            await conn.scalar(select(table.c.unsubscribe_count).where(table.c.id == campaign_id))
            or 0
        )


async def list_counts(engine: AsyncEngine, list_id: int) -> tuple[int, int]:
    table = ContactList.__table__
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(table.c.total_contacts, table.c.active_contacts).where(table.c.id == list_id)
            )
        ).one()
    return int(row.total_contacts), int(row.active_contacts)


async def form_token(client: httpx.AsyncClient, path: str) -> str:
    """GET the page (its answer sets the CSRF cookie in `client`) and read its form's token."""
    page = await client.get(path)
    assert page.status_code == 200, page.text
    found = CSRF_INPUT.search(page.text)
    assert found is not None, page.text
    return found.group(1)
