"""Which quota each request counts against (`services/admission.py`)."""

from __future__ import annotations

import pytest

from openmailer.core.accounts.credentials import KeyMode, generate_api_key
from openmailer.core.accounts.model import Principal
from openmailer.core.accounts.plans import (
    FAILED_AUTHENTICATIONS_PER_MINUTE_PER_IP,
    PLAN_LIMITS,
    PUBLIC_REQUESTS_PER_MINUTE_PER_IP,
    Plan,
)
from openmailer.core.accounts.scopes import Scope
from openmailer.core.accounts.services import admission, api_keys
from openmailer.core.errors import RateLimited, Unauthorized
from tests.unit.accounts.accounts_scenario import Accounts

pytestmark = pytest.mark.unit

FREE_QUOTA = PLAN_LIMITS[Plan.FREE].api_requests_per_minute


async def new_key(accounts: Accounts, principal: Principal) -> str:
    _, plaintext = await api_keys.create_api_key(
        principal,
        "ci",
        [Scope.READ_ANALYTICS.value],
        api_keys=accounts.api_keys,
        clock=accounts.clock,
    )
    return plaintext


async def test_every_credential_of_a_user_shares_the_plans_quota(accounts: Accounts) -> None:
    user = await accounts.add_user("ann", plan=Plan.FREE)
    session = (await accounts.login("ann")).token
    principal = await accounts.authenticate(session)
    credentials = [session] + [await new_key(accounts, principal) for _ in range(3)]

    allowed = 0
    for n in range(FREE_QUOTA + 20):
        result = await accounts.admit(credentials[n % len(credentials)])
        assert result.principal.user.id == user.id
        allowed += result.decision.allowed
    assert allowed == FREE_QUOTA
    assert accounts.rate_limiter.audited == {user.id: FREE_QUOTA + 20}

    accounts.clock.advance(minutes=1)
    assert (await accounts.admit(credentials[0])).decision.allowed


async def test_failed_authentications_spend_the_addresss_budget_then_nothing_is_looked_up(
    accounts: Accounts,
) -> None:
    await accounts.add_user("ann")
    valid = (await accounts.login("ann")).token

    for _ in range(FAILED_AUTHENTICATIONS_PER_MINUTE_PER_IP):
        with pytest.raises(Unauthorized):
            await accounts.admit(generate_api_key(KeyMode.LIVE).plaintext, "198.51.100.1")
    with pytest.raises(RateLimited) as refused:
        await accounts.admit(generate_api_key(KeyMode.LIVE).plaintext, "198.51.100.1")
    assert refused.value.retry_after_seconds >= 1
    # Refused before the lookup: even a valid credential from that address waits.
    with pytest.raises(RateLimited):
        await accounts.admit(valid, "198.51.100.1")

    assert (await accounts.admit(valid, "198.51.100.2")).decision.allowed
    accounts.clock.advance(minutes=1)
    assert (await accounts.admit(valid, "198.51.100.1")).decision.allowed


async def test_credentials_of_no_known_form_are_refused_without_spending_the_budget(
    accounts: Accounts,
) -> None:
    for _ in range(FAILED_AUTHENTICATIONS_PER_MINUTE_PER_IP + 5):
        with pytest.raises(Unauthorized):
            await accounts.admit("not-a-credential", "198.51.100.1")
    budget = await accounts.rate_limiter.peek(
        admission.failed_authentication_bucket("198.51.100.1"),
        limit=FAILED_AUTHENTICATIONS_PER_MINUTE_PER_IP,
        window_seconds=60,
    )
    assert budget.allowed and budget.remaining == FAILED_AUTHENTICATIONS_PER_MINUTE_PER_IP


async def test_public_requests_count_per_address(accounts: Accounts) -> None:
    decisions = [
        await admission.admit_public("198.51.100.1", rate_limiter=accounts.rate_limiter)
        for _ in range(PUBLIC_REQUESTS_PER_MINUTE_PER_IP + 1)
    ]
    assert [decision.allowed for decision in decisions].count(True) == (
        PUBLIC_REQUESTS_PER_MINUTE_PER_IP
    )
    other = await admission.admit_public("198.51.100.2", rate_limiter=accounts.rate_limiter)
    assert other.allowed
