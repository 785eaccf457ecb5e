"""User administration: creating users, the first admin, suspension and plans."""

from __future__ import annotations

import secrets

from openmailer.core.accounts.model import (
    BLOCKED_STATUSES,
    AccountStatus,
    NewUser,
    Principal,
    Role,
    User,
    check_new_password,
    normalise_email,
    normalise_username,
)
from openmailer.core.accounts.plans import Plan, limits_for
from openmailer.core.errors import Conflict, NotFound, ValidationError
from openmailer.core.pages import Page
from openmailer.core.ports.accounts import PasswordHasher, SessionStore, UserRepository
from openmailer.core.ports.unit_of_work import AccountsUnitOfWork

FIRST_ADMIN_USERNAME = "admin"
# An email needs a domain of two labels; `.localdomain` keeps the old `admin@localhost` meaning.
FIRST_ADMIN_EMAIL = "admin@localhost.localdomain"


async def create_user(
    username: str,
    email: str,
    password: str,
    *,
    admin: bool = False,
    plan: str = Plan.FREE,
    users: UserRepository,
    hasher: PasswordHasher,
) -> User:
    username = normalise_username(username)
    email = normalise_email(email)
    check_new_password(password)
    plan = _parse_plan(plan)
    return await users.add(
        NewUser(
            username=username,
            email=email,
            password_hash=await hasher.hash(password),
            role=Role.ADMIN if admin else Role.USER,
            subscription_plan=plan,
            monthly_email_limit=limits_for(plan).monthly_email_limit,
        )
    )


async def ensure_first_admin(
    *, users: UserRepository, hasher: PasswordHasher
) -> tuple[str, str] | None:
    """Creates `admin` with a generated password when no administrator exists yet.

    Returns (username, password) once, for printing; None when an admin already exists.
    """
    if await users.any_admin():
        return None
    password = secrets.token_urlsafe(18)
    try:
        await create_user(
            FIRST_ADMIN_USERNAME,
            FIRST_ADMIN_EMAIL,
            password,
            admin=True,
            users=users,
            hasher=hasher,
        )
    except Conflict:
        return None  # another process created it first, or the name is taken by a non-admin
    return FIRST_ADMIN_USERNAME, password


async def get_user(user_id: int, *, users: UserRepository) -> User:
    user = await users.get(user_id)
    if user is None:
        raise NotFound(f"no user with id {user_id}")
    return user


async def list_users(*, limit: int, offset: int, users: UserRepository) -> Page[User]:
    return await users.list_users(limit=limit, offset=offset)


async def set_account_status(
    actor: Principal,
    user_id: int,
    status: str,
    *,
    users: UserRepository,
    sessions: SessionStore,
) -> User:
    """Suspending (or expiring) a user also ends their sessions; their API keys stop working.

    An administrator cannot block their own account: that could leave no one able to undo it.
    """
    user = await _apply_status(actor, user_id, status, users=users)
    if not user.may_sign_in:
        await sessions.revoke_all(user_id)
    return user


async def update_user(
    actor: Principal,
    user_id: int,
    *,
    account_status: str | None,
    subscription_plan: str | None,
    uow: AccountsUnitOfWork,
    sessions: SessionStore,
) -> User:
    """Plan and status change together or not at all: a refused status undoes the plan too.
    Sessions end only after the change committed (they live outside the transaction)."""
    async with uow:
        user = await get_user(user_id, users=uow.users)
        if subscription_plan is not None:
            user = await change_plan(user_id, subscription_plan, users=uow.users)
        if account_status is not None:
            user = await _apply_status(actor, user_id, account_status, users=uow.users)
    if account_status is not None and not user.may_sign_in:
        await sessions.revoke_all(user_id)
    return user


async def _apply_status(
    actor: Principal, user_id: int, status: str, *, users: UserRepository
) -> User:
    try:
        new_status = AccountStatus(status)
    except ValueError:
        raise ValidationError(
            f"unknown account status {status!r}", field="account_status"
        ) from None
    if user_id == actor.user.id and new_status in BLOCKED_STATUSES:
        raise Conflict("you cannot suspend or expire your own account", code="own_account")
    user = await users.set_status(user_id, new_status)
    if user is None:
        raise NotFound(f"no user with id {user_id}")
    return user


async def change_plan(user_id: int, plan: str, *, users: UserRepository) -> User:
    """The plan sets `monthly_email_limit` to the plan's default (see PLAN_LIMITS)."""
    plan = _parse_plan(plan)
    user = await users.set_plan(user_id, plan, limits_for(plan).monthly_email_limit)
    if user is None:
        raise NotFound(f"no user with id {user_id}")
    return user


def _parse_plan(plan: str) -> Plan:
    try:
        return Plan(plan)
    except ValueError:
        allowed = ", ".join(p.value for p in Plan)
        raise ValidationError(f"unknown plan {plan!r}; one of {allowed}", field="plan") from None
