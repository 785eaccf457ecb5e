"""Creating users, the first admin, account status and plans (`services/users.py`)."""

from __future__ import annotations

import pytest

from openmailer.core.accounts.model import AccountStatus, Principal, Role, User
from openmailer.core.accounts.plans import PLAN_LIMITS, Plan
from openmailer.core.accounts.services import users
from openmailer.core.errors import Conflict, NotFound, Unauthorized, ValidationError
from tests.unit.accounts.accounts_scenario import PASSWORD, Accounts

pytestmark = pytest.mark.unit


async def create_user(
    accounts: Accounts,
    username: str = "ann",
    email: str = "ann@example.com",
    password: str = PASSWORD,
    *,
    admin: bool = False,
    plan: str = Plan.FREE,
) -> User:
    return await users.create_user(
        username,
        email,
        password,
        admin=admin,
        plan=plan,
        users=accounts.users,
        hasher=accounts.hasher,
    )


async def set_status(accounts: Accounts, actor: Principal, user_id: int, status: str) -> User:
    return await users.set_account_status(
        actor, user_id, status, users=accounts.users, sessions=accounts.sessions
    )


async def ensure_first_admin(accounts: Accounts) -> tuple[str, str] | None:
    return await users.ensure_first_admin(users=accounts.users, hasher=accounts.hasher)


async def test_a_new_user_is_an_active_free_user_with_a_lowercased_name_and_email(
    accounts: Accounts,
) -> None:
    user = await create_user(accounts, " Ann ", "  Ann@Example.COM ")

    assert (user.username, user.email) == ("ann", "ann@example.com")
    assert user.role is Role.USER
    assert user.account_status is AccountStatus.ACTIVE
    assert user.subscription_plan == Plan.FREE
    assert user.monthly_email_limit == 1_000
    assert user.password_hash != PASSWORD
    assert await accounts.hasher.verify(PASSWORD, user.password_hash)


async def test_a_new_user_on_a_plan_gets_its_monthly_limit(accounts: Accounts) -> None:
    user = await create_user(accounts, plan="PRO", admin=True)

    assert user.role is Role.ADMIN
    assert (user.subscription_plan, user.monthly_email_limit) == ("PRO", 100_000)


@pytest.mark.parametrize(
    ("password", "plan", "field"),
    [("short", "FREE", "password"), ("é" * 37, "FREE", "password"), (PASSWORD, "GOLD", "plan")],
)
async def test_a_user_with_a_bad_password_or_plan_is_not_created(
    accounts: Accounts, password: str, plan: str, field: str
) -> None:
    with pytest.raises(ValidationError) as error:
        await create_user(accounts, password=password, plan=plan)

    assert error.value.field == field
    assert (await users.list_users(limit=10, offset=0, users=accounts.users)).total == 0


@pytest.mark.parametrize(
    ("username", "email", "code"),
    [("ann", "other@example.com", "username_taken"), ("other", "ANN@example.com", "email_taken")],
)
async def test_a_taken_username_or_email_is_a_conflict(
    accounts: Accounts, username: str, email: str, code: str
) -> None:
    await create_user(accounts)

    with pytest.raises(Conflict) as error:
        await create_user(accounts, username, email)

    assert error.value.code == code


async def test_the_first_admin_is_created_once_with_a_password_that_works(
    accounts: Accounts,
) -> None:
    created = await ensure_first_admin(accounts)

    assert created is not None
    username, password = created
    assert username == "admin"
    assert len(password) >= 16
    assert (await accounts.login(username, password)).user.is_admin
    assert await ensure_first_admin(accounts) is None


async def test_no_first_admin_when_an_admin_exists(accounts: Accounts) -> None:
    await accounts.add_user("root", admin=True)

    assert await ensure_first_admin(accounts) is None
    with pytest.raises(Unauthorized):
        await accounts.login("admin", "anything at all")


async def test_no_first_admin_when_its_name_is_taken_by_a_user(accounts: Accounts) -> None:
    await accounts.add_user("admin")

    assert await ensure_first_admin(accounts) is None
    assert not await accounts.users.any_admin()


async def test_get_user_finds_by_id_and_unknown_is_not_found(accounts: Accounts) -> None:
    user = await accounts.add_user("ann")

    assert await users.get_user(user.id, users=accounts.users) == user
    with pytest.raises(NotFound):
        await users.get_user(user.id + 1, users=accounts.users)


async def test_users_are_listed_in_id_order_a_page_at_a_time(accounts: Accounts) -> None:
    for name in ("ann", "bob", "cyd", "dee"):
        await accounts.add_user(name)

    page = await users.list_users(limit=2, offset=1, users=accounts.users)

    assert [user.username for user in page.items] == ["bob", "cyd"]
    assert (page.total, page.limit, page.offset) == (4, 2, 1)


@pytest.mark.parametrize("status", ["SUSPENDED", "EXPIRED"])
async def test_admin_cannot_suspend_themselves(accounts: Accounts, status: str) -> None:
    admin = await accounts.sign_in(await accounts.add_user("root", admin=True))

    with pytest.raises(Conflict) as error:
        await set_status(accounts, admin, admin.user.id, status)

    assert error.value.code == "own_account"
    assert (await accounts.stored(admin.user)).account_status is AccountStatus.ACTIVE
    assert accounts.sessions.digests_of(admin.user.id) == {admin.session_digest}


async def test_admin_may_set_their_own_status_to_trial(accounts: Accounts) -> None:
    admin = await accounts.sign_in(await accounts.add_user("root", admin=True))

    user = await set_status(accounts, admin, admin.user.id, "TRIAL")

    assert user.account_status is AccountStatus.TRIAL
    assert accounts.sessions.digests_of(admin.user.id) == {admin.session_digest}


@pytest.mark.parametrize("status", ["SUSPENDED", "EXPIRED"])
async def test_suspending_a_user_ends_their_sessions(accounts: Accounts, status: str) -> None:
    admin = await accounts.sign_in(await accounts.add_user("root", admin=True))
    ann = await accounts.add_user("ann")
    ann_token = (await accounts.login("ann")).token

    updated = await set_status(accounts, admin, ann.id, status)

    assert updated.account_status == status
    assert accounts.sessions.digests_of(ann.id) == set()
    with pytest.raises(Unauthorized):
        await accounts.authenticate(ann_token)


async def test_reactivating_a_user_lets_them_log_in_again(accounts: Accounts) -> None:
    admin = await accounts.sign_in(await accounts.add_user("root", admin=True))
    ann = await accounts.add_user("ann")
    await set_status(accounts, admin, ann.id, "SUSPENDED")

    await set_status(accounts, admin, ann.id, "ACTIVE")

    assert (await accounts.login("ann")).user.id == ann.id


async def test_unknown_status_is_rejected(accounts: Accounts) -> None:
    admin = await accounts.sign_in(await accounts.add_user("root", admin=True))
    ann = await accounts.add_user("ann")

    with pytest.raises(ValidationError) as error:
        await set_status(accounts, admin, ann.id, "suspended")

    assert error.value.field == "account_status"
    assert (await accounts.stored(ann)).account_status is AccountStatus.ACTIVE


async def test_status_of_an_unknown_user_is_not_found(accounts: Accounts) -> None:
    admin = await accounts.sign_in(await accounts.add_user("root", admin=True))

    with pytest.raises(NotFound):
        await set_status(accounts, admin, admin.user.id + 1, "SUSPENDED")


@pytest.mark.parametrize("plan", list(Plan))
async def test_plan_change_sets_monthly_limit(accounts: Accounts, plan: Plan) -> None:
    ann = await accounts.add_user("ann", plan=Plan.BASIC if plan is Plan.FREE else Plan.FREE)
    accounts.users.change(ann.id, monthly_email_limit=7)

    updated = await users.change_plan(ann.id, plan.value, users=accounts.users)

    assert updated.subscription_plan == plan
    assert updated.monthly_email_limit == PLAN_LIMITS[plan].monthly_email_limit
    assert await accounts.stored(ann) == updated


async def test_an_unknown_plan_is_rejected_and_changes_nothing(accounts: Accounts) -> None:
    ann = await accounts.add_user("ann")

    with pytest.raises(ValidationError) as error:
        await users.change_plan(ann.id, "pro", users=accounts.users)

    assert error.value.field == "plan"
    assert await accounts.stored(ann) == ann


async def test_plan_change_of_an_unknown_user_is_not_found(accounts: Accounts) -> None:
    with pytest.raises(NotFound):
        await users.change_plan(42, "PRO", users=accounts.users)
