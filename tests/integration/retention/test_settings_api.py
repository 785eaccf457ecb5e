"""`/api/v1/settings/retention`: each user's own choices, the defaults until changed, a bad
choice refused with the allowed values, changes by a login session only."""

from __future__ import annotations

import httpx
import pytest

from openmailer.core.accounts.scopes import Scope
from openmailer.core.accounts.service import AccountsPorts as Accounts
from tests.integration.accounts.accounts_helpers import api_key_for, make_user, session_for

pytestmark = pytest.mark.integration

URL = "/api/v1/settings/retention"
DEFAULTS = {"campaign_reports": "2y", "click_logs": "90d", "contact_history": "forever"}


async def test_defaults_then_set_read_back_and_changed_in_part(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    ann = await session_for(accounts, await make_user(accounts))
    assert (await client.get(URL, headers=ann.headers)).json() == DEFAULTS

    chosen = {"campaign_reports": "forever", "click_logs": "30d", "contact_history": "1y"}
    put = await client.put(URL, json=chosen, headers=ann.headers)
    assert put.status_code == 200, put.text
    assert put.json() == chosen
    assert (await client.get(URL, headers=ann.headers)).json() == chosen

    patched = await client.patch(URL, json={"click_logs": "1y"}, headers=ann.headers)
    assert patched.status_code == 200, patched.text
    assert patched.json() == {**chosen, "click_logs": "1y"}
    assert (await client.get(URL, headers=ann.headers)).json() == {**chosen, "click_logs": "1y"}


async def test_a_bad_choice_is_422_naming_the_allowed_values_and_changes_nothing(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    bea = await session_for(accounts, await make_user(accounts))
    refused = await client.patch(
        URL, json={"click_logs": "1d", "contact_history": "5y"}, headers=bea.headers
    )
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["code"] == "invalid_retention_choice"
    assert "click_logs: '1d' is not one of 30d, 90d, 1y" in problem["detail"]
    assert "contact_history: '5y' is not one of 1y, 3y, forever" in problem["detail"]
    long = await client.patch(URL, json={"campaign_reports": "x" * 5000}, headers=bea.headers)
    assert long.status_code == 422
    assert len(long.json()["detail"]) < 200  # the value is shown cut short
    missing = await client.put(URL, json={"click_logs": "30d"}, headers=bea.headers)
    assert missing.status_code == 400  # PUT sets all three
    assert (await client.get(URL, headers=bea.headers)).json() == DEFAULTS


async def test_each_user_sees_and_changes_only_their_own(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    cy = await session_for(accounts, await make_user(accounts))
    dee = await session_for(accounts, await make_user(accounts))
    await client.patch(URL, json={"contact_history": "3y"}, headers=cy.headers)

    assert (await client.get(URL, headers=cy.headers)).json()["contact_history"] == "3y"
    assert (await client.get(URL, headers=dee.headers)).json() == DEFAULTS


async def test_an_api_key_reads_the_choices_but_cannot_change_them(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    user = await make_user(accounts)
    key = await api_key_for(accounts, user, [Scope.READ_ANALYTICS.value])
    assert (await client.get(URL, headers=key.headers)).json() == DEFAULTS
    refused = await client.patch(URL, json={"contact_history": "1y"}, headers=key.headers)
    assert refused.status_code == 403
    assert (await client.get(URL)).status_code == 401
    session = await session_for(accounts, user)
    assert (await client.get(URL, headers=session.headers)).json() == DEFAULTS
