"""The admin update runs in one unit of work: a refused status undoes the plan change too."""

from __future__ import annotations

import pytest

from openmailer.core.accounts.model import AccountStatus
from openmailer.core.accounts.plans import Plan
from openmailer.core.errors import Conflict, NotFound, ValidationError
from tests.unit.accounts.accounts_scenario import Accounts

pytestmark = pytest.mark.unit


async def test_suspending_oneself_with_a_plan_change_commits_nothing(accounts: Accounts) -> None:
    admin = await accounts.add_user("root", admin=True)
    actor = await accounts.sign_in(admin)

    with pytest.raises(Conflict) as refused:
        await accounts.service().update_user(
            actor, admin.id, account_status="SUSPENDED", subscription_plan=Plan.PRO
        )

    assert refused.value.code == "own_account"
    stored = await accounts.stored(admin)
    assert (stored.subscription_plan, stored.account_status) == (Plan.FREE, AccountStatus.ACTIVE)
    assert [uow.rolled_back for uow in accounts.units_of_work] == [True]


async def test_an_unknown_status_after_a_valid_plan_commits_nothing(accounts: Accounts) -> None:
    admin = await accounts.sign_in(await accounts.add_user("root", admin=True))
    ann = await accounts.add_user("ann")

    with pytest.raises(ValidationError):
        await accounts.service().update_user(
            admin, ann.id, account_status="ASLEEP", subscription_plan=Plan.BASIC
        )

    assert (await accounts.stored(ann)).subscription_plan == Plan.FREE


async def test_plan_and_suspension_commit_together_and_end_sessions(accounts: Accounts) -> None:
    admin = await accounts.sign_in(await accounts.add_user("root", admin=True))
    ann = await accounts.add_user("ann")
    session = await accounts.login("ann")

    updated = await accounts.service().update_user(
        admin, ann.id, account_status="SUSPENDED", subscription_plan=Plan.PRO
    )

    assert (updated.subscription_plan, updated.account_status) == (
        Plan.PRO,
        AccountStatus.SUSPENDED,
    )
    assert updated.monthly_email_limit == 100_000
    assert [uow.committed for uow in accounts.units_of_work] == [True]
    assert await accounts.sessions.user_id_for(_digest(session.token)) is None


async def test_updating_an_unknown_user_is_not_found(accounts: Accounts) -> None:
    admin = await accounts.sign_in(await accounts.add_user("root", admin=True))
    with pytest.raises(NotFound):
        await accounts.service().update_user(admin, 999, subscription_plan=Plan.PRO)


def _digest(token: str) -> str:
    from openmailer.core.accounts.credentials import digest

    return digest(token)
