"""Resolving bearer credentials and checking requirements (`services/access.py`)."""

from __future__ import annotations

import pytest

from openmailer.core.accounts.credentials import (
    KeyMode,
    digest,
    generate_api_key,
    generate_session_token,
)
from openmailer.core.accounts.scopes import Access, Scope
from openmailer.core.accounts.services import access
from openmailer.core.errors import Forbidden, Unauthorized
from tests.unit.accounts.accounts_scenario import BLOCKED, Accounts

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "bearer",
    [
        "",
        "Bearer om_sess_x",
        "om_live_short",
        generate_api_key(KeyMode.LIVE).plaintext,
        generate_session_token(),
    ],
    ids=["empty", "garbage", "malformed key", "unknown key", "unknown session"],
)
async def test_missing_malformed_or_unknown_credentials_are_unauthorized(
    accounts: Accounts, bearer: str
) -> None:
    await accounts.add_user("ann")
    await accounts.login("ann")

    with pytest.raises(Unauthorized) as error:
        await accounts.authenticate(bearer)

    assert error.value.code == "invalid_credential"


async def test_a_session_principal_may_do_everything_but_administer(accounts: Accounts) -> None:
    principal = await accounts.sign_in(await accounts.add_user("ann"))

    for requirement in [*Scope, Access.PUBLIC, Access.AUTHENTICATED, Access.SESSION]:
        access.authorize(principal, requirement)
    with pytest.raises(Forbidden):
        access.authorize(principal, Access.ADMIN)


async def test_an_admin_session_meets_the_admin_requirement(accounts: Accounts) -> None:
    principal = await accounts.sign_in(await accounts.add_user("root", admin=True))

    access.authorize(principal, Access.ADMIN)

    assert principal.user.is_admin


async def test_a_session_carries_its_digest_never_its_token(accounts: Accounts) -> None:
    await accounts.add_user("ann")
    token = (await accounts.login("ann")).token

    principal = await accounts.authenticate(token)

    assert principal.session_digest == digest(token)
    assert principal.api_key is None


@pytest.mark.parametrize("change", BLOCKED)
async def test_a_live_session_of_a_blocked_user_is_refused(
    accounts: Accounts, change: dict[str, object]
) -> None:
    user = await accounts.add_user("ann")
    token = (await accounts.login("ann")).token
    accounts.users.change(user.id, **change)  # blocked behind the services' back

    with pytest.raises(Unauthorized) as error:
        await accounts.authenticate(token)

    assert error.value.code == "account_blocked"


async def test_a_session_needs_no_api_access(accounts: Accounts) -> None:
    user = await accounts.add_user("ann")
    token = (await accounts.login("ann")).token
    accounts.users.change(user.id, api_enabled=False)

    assert (await accounts.authenticate(token)).user.id == user.id
