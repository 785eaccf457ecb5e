"""The audience service of the app under test, and a fresh caller per test."""

from __future__ import annotations

import httpx
import pytest
from litestar import Litestar

from openmailer.core.accounts.service import AccountsPorts as Accounts
from openmailer.core.audience.service import AudienceService
from tests.integration.accounts.accounts_helpers import Caller
from tests.integration.audience.audience_helpers import contacts_caller


@pytest.fixture
def audience(app: Litestar, client: httpx.AsyncClient) -> AudienceService:
    audience: AudienceService = app.state.services["audience"]
    return audience


@pytest.fixture
async def caller(accounts: Accounts) -> Caller:
    return await contacts_caller(accounts)
