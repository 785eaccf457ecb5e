"""`/api/v1/users`: user administration (an administrator's login session only)."""

from __future__ import annotations

from datetime import datetime

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_201_CREATED

from openmailer.adapters.http.accounts.fields import (
    Email,
    NewPassword,
    PlanName,
    StatusName,
    Username,
)
from openmailer.adapters.http.pages import OffsetPage
from openmailer.adapters.http.pagination import PageParameters, ResourceId
from openmailer.adapters.http.security import AccountsApi, CurrentPrincipal, access
from openmailer.core.accounts.model import User
from openmailer.core.accounts.scopes import Access


class UserRead(msgspec.Struct):
    id: int
    username: str
    email: str
    role: str
    account_status: str
    enabled: bool
    api_enabled: bool
    subscription_plan: str
    monthly_email_limit: int
    monthly_emails_sent: int
    two_factor_enabled: bool
    last_login_at: datetime | None
    last_login_ip: str | None
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserRead:
        return cls(
            id=user.id,
            username=user.username,
            email=user.email,
            role=user.role.value,
            account_status=user.account_status.value,
            enabled=user.enabled,
            api_enabled=user.api_enabled,
            subscription_plan=user.subscription_plan,
            monthly_email_limit=user.monthly_email_limit,
            monthly_emails_sent=user.monthly_emails_sent,
            two_factor_enabled=user.two_factor_enabled,
            last_login_at=user.last_login_at,
            last_login_ip=user.last_login_ip,
            created_at=user.created_at,
        )


class UserCreate(msgspec.Struct):
    username: Username
    email: Email
    password: NewPassword
    admin: bool = False
    subscription_plan: PlanName = "FREE"


class UserUpdate(msgspec.Struct):
    """Suspend or re-activate (`account_status`) and change the plan; omitted fields stay."""

    account_status: StatusName | None = None
    subscription_plan: PlanName | None = None


class UserController(Controller):
    path = "/users"
    tags = ["users"]

    @post("", operation_id="createUser", status_code=HTTP_201_CREATED, **access(Access.ADMIN))
    async def create(self, accounts: AccountsApi, data: JSONBody[UserCreate]) -> UserRead:
        """Create a user; the plan sets the monthly email limit."""
        user = await accounts.create_user(
            data.username,
            data.email,
            data.password,
            admin=data.admin,
            plan=data.subscription_plan,
        )
        return UserRead.of(user)

    @get("", operation_id="listUsers", **access(Access.ADMIN))
    async def list_users(
        self, accounts: AccountsApi, pagination: PageParameters
    ) -> OffsetPage[UserRead]:
        """All users, by id."""
        page = await accounts.list_users(limit=pagination.limit, offset=pagination.offset)
        return OffsetPage.of(page, UserRead.of)

    @get("/{user_id:int}", operation_id="getUser", **access(Access.ADMIN))
    async def get_user(self, accounts: AccountsApi, user_id: ResourceId) -> UserRead:
        return UserRead.of(await accounts.get_user(user_id))

    @patch("/{user_id:int}", operation_id="updateUser", **access(Access.ADMIN))
    async def update(
        self,
        principal: CurrentPrincipal,
        accounts: AccountsApi,
        user_id: ResourceId,
        data: JSONBody[UserUpdate],
    ) -> UserRead:
        """Suspend or re-activate (`account_status`) and change the plan, which resets
        `monthly_email_limit` to the plan's default; both change or neither does. Suspension
        ends the user's sessions."""
        user = await accounts.update_user(
            principal,
            user_id,
            account_status=data.account_status,
            subscription_plan=data.subscription_plan,
        )
        return UserRead.of(user)

    @delete(
        "/{user_id:int}/two-factor",
        operation_id="resetTwoFactor",
        status_code=200,
        **access(Access.ADMIN),
    )
    async def reset_two_factor(
        self, principal: CurrentPrincipal, accounts: AccountsApi, user_id: ResourceId
    ) -> UserRead:
        """Turn a user's 2FA off (a lost device, an enrolment made by someone else): the secret
        is erased, the user's sessions end, and the reset is written to the audit log."""
        return UserRead.of(await accounts.reset_two_factor(principal, user_id))
