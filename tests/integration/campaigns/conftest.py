"""Two tenants for the campaigns tests, each with a template: the owner, and a stranger whose
rows no request of the owner may reach."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from openmailer.core.accounts.model import User
from openmailer.core.accounts.service import AccountsPorts as Accounts
from tests.integration.accounts.accounts_helpers import Caller, api_key_for, engine_of, make_user
from tests.integration.campaigns.campaign_helpers import SCOPES, add_template


@dataclass
class Tenant:
    user: User
    caller: Caller
    template_id: int


@dataclass
class World:
    client: httpx.AsyncClient
    accounts: Accounts
    owner: Tenant
    stranger: Tenant

    @property
    def engine(self) -> AsyncEngine:
        return engine_of(self.accounts)


async def make_tenant(accounts: Accounts, *, test_key: bool = False) -> Tenant:
    user = await make_user(accounts)
    caller = await api_key_for(accounts, user, SCOPES, test=test_key)
    return Tenant(
        user=user, caller=caller, template_id=await add_template(engine_of(accounts), user)
    )


@pytest.fixture
async def world(client: httpx.AsyncClient, accounts: Accounts) -> World:
    return World(
        client=client,
        accounts=accounts,
        owner=await make_tenant(accounts),
        stranger=await make_tenant(accounts),
    )
