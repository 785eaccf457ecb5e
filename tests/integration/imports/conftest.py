"""The imports service of the app under test, and a fresh caller with the contacts scopes."""

from __future__ import annotations

import httpx
import pytest
from litestar import Litestar

from openmailer.core.accounts.service import AccountsPorts as Accounts
from openmailer.core.imports.service import ImportsService
from tests.integration.accounts.accounts_helpers import Caller
from tests.integration.audience.audience_helpers import contacts_caller


@pytest.fixture
def imports(app: Litestar, client: httpx.AsyncClient) -> ImportsService:
    service: ImportsService = app.state.services["imports"]
    return service


@pytest.fixture
async def caller(accounts: Accounts) -> Caller:
    return await contacts_caller(accounts)
