"""Rows the campaigns tests stand on: templates (the templates area has no API on this branch),
verified domains and providers made directly, and campaigns made through the API."""

from __future__ import annotations

import itertools
import os
from typing import Any

import httpx
from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncEngine

from openmailer.adapters.db.providers import SqlAlchemyProviderRepository
from openmailer.adapters.db.tables import Domain as DomainRow
from openmailer.adapters.db.tables import EmailCampaign, EmailTemplate
from openmailer.core.accounts.model import User
from openmailer.core.accounts.service import AccountsPorts as Accounts
from openmailer.core.ports.sending import NewProviderRecord
from openmailer.core.sending.services.providers import CONFIGURATION_COLUMN
from tests.integration.accounts.accounts_helpers import Caller, engine_of
from tests.integration.domains.domains_helpers import foreign_domain

_numbers = itertools.count(1)
SCOPES = ["read:campaigns", "write:campaigns", "send:campaigns"]


async def add_template(
    engine: AsyncEngine, user: User, *, is_active: bool = True, version: int = 1
) -> int:
    name = f"template {next(_numbers)}_{os.getpid()}"
    async with engine.begin() as conn:
        row = await conn.execute(
            insert(EmailTemplate.__table__)
            .values(
                name=name,
                subject="Hello {{ first_name }}",
                body="<p>Hi</p>",
                created_by=user.id,
                is_active=is_active,
                version=version,
            )
            .returning(EmailTemplate.__table__.c.id)
        )
        return int(row.scalar_one())


async def add_domain(accounts: Accounts, user: User, *, verified: bool) -> tuple[int, str]:
    """A domain of `user` with its DKIM keys; VERIFIED (SPF and DKIM checked, DMARC not) or
    PENDING."""
    domain_id = await foreign_domain(accounts, user)
    table = DomainRow.__table__
    values: dict[str, Any] = (
        {"status": "VERIFIED", "spf_verified": True, "dkim_verified": True} if verified else {}
    )
    async with engine_of(accounts).begin() as conn:
        if values:
            await conn.execute(update(table).where(table.c.id == domain_id).values(**values))
        name = (await conn.execute(table.select().where(table.c.id == domain_id))).one().domain_name
    return domain_id, str(name)


async def add_provider(
    accounts: Accounts,
    user: User,
    *,
    provider_type: str = "SMTP",
    is_active: bool = True,
    daily_limit: int | None = None,
) -> int:
    record = NewProviderRecord(
        user_id=user.id,
        provider_type=provider_type,
        provider_name=f"provider {next(_numbers)}",
        is_active=is_active,
        is_default=False,
        priority=0,
        daily_limit=daily_limit,
        monthly_limit=None,
    )
    provider = await SqlAlchemyProviderRepository(engine_of(accounts)).add(
        record,
        seal=lambda row_id: accounts.secret_box.seal(b"{}", row_id=row_id, **CONFIGURATION_COLUMN),
    )
    return provider.id


async def create_campaign(
    client: httpx.AsyncClient, caller: Caller, **fields: Any
) -> dict[str, Any]:
    body = {"name": f"campaign {next(_numbers)}", "from_email": "news@example.com", **fields}
    response = await client.post("/api/v1/campaigns", json=body, headers=caller.headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def foreign_campaign(accounts: Accounts, owner: User) -> int:
    """A DRAFT campaign of `owner`, for the every-route walk."""
    engine = engine_of(accounts)
    template_id = await add_template(engine, owner)
    async with engine.begin() as conn:
        row = await conn.execute(
            insert(EmailCampaign.__table__)
            .values(
                name="theirs",
                template_id=template_id,
                created_by=owner.id,
                from_email="news@example.com",
            )
            .returning(EmailCampaign.__table__.c.id)
        )
        return int(row.scalar_one())
