"""Rows the segment tests stand on, inserted with SQL (contacts and lists have no API here)."""

from __future__ import annotations

import itertools
import os
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from openmailer.adapters.db.tables import (
    CampaignRecipient,
    Contact,
    ContactList,
    ContactListMembership,
    EmailCampaign,
    EmailTemplate,
    Segment,
)
from openmailer.core.accounts.model import User
from openmailer.core.accounts.service import AccountsPorts as Accounts
from tests.integration.accounts.accounts_helpers import engine_of

_numbers = itertools.count(1)


async def _insert(engine: AsyncEngine, table: Any, **values: Any) -> int:
    async with engine.begin() as conn:
        row = (
            await conn.execute(
                insert(table.__table__).values(**values).returning(table.__table__.c.id)
            )
        ).one()
    return int(row[0])


async def add_contact(engine: AsyncEngine, user: User, email: str, **values: Any) -> int:
    return await _insert(engine, Contact, user_id=user.id, email=email, **values)


async def add_list(engine: AsyncEngine, user: User) -> int:
    return await _insert(engine, ContactList, user_id=user.id, name=f"list {next(_numbers)}")


async def add_member(
    engine: AsyncEngine, contact_id: int, list_id: int, status: str = "ACTIVE"
) -> None:
    await _insert(
        engine, ContactListMembership, contact_id=contact_id, list_id=list_id, status=status
    )


async def add_campaign(engine: AsyncEngine, user: User) -> int:
    number = f"{next(_numbers)}_{os.getpid()}"
    template = await _insert(
        engine, EmailTemplate, name=f"t{number}", subject="s", body="b", created_by=user.id
    )
    return await _insert(
        engine, EmailCampaign, name=f"c{number}", template_id=template, created_by=user.id
    )


async def add_recipient(
    engine: AsyncEngine,
    campaign_id: int,
    contact_id: int,
    *,
    opened_at: datetime | None = None,
    clicked_at: datetime | None = None,
) -> None:
    await _insert(
        engine,
        CampaignRecipient,
        campaign_id=campaign_id,
        contact_id=contact_id,
        opened_at=opened_at,
        clicked_at=clicked_at,
    )


async def foreign_segment(accounts: Accounts, owner: User) -> int:
    """A segment of `owner`, for the every-route walk."""
    return await _insert(
        engine_of(accounts),
        Segment,
        user_id=owner.id,
        name="theirs",
        conditions={"operator": "AND", "rules": [{"field": "email", "operator": "is_not_empty"}]},
    )
