"""`/api/v1/users`: user administration (an administrator's login session only)."""

from __future__ import annotations

from litestar import Controller, get, patch, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_201_CREATED

from openmailer.adapters.http.pagination import PageParameters, ResourceId
from openmailer.adapters.http.schemas import UserCreate, UserList, UserRead, UserUpdate
from openmailer.adapters.http.security import AccountsPorts, CurrentPrincipal, access
from openmailer.core.accounts.scopes import Access
from openmailer.core.accounts.services import users


class UserController(Controller):
    path = "/users"
    tags = ["users"]

    @post("", operation_id="createUser", status_code=HTTP_201_CREATED, **access(Access.ADMIN))
    async def create(self, accounts: AccountsPorts, data: JSONBody[UserCreate]) -> UserRead:
        """Create a user; the plan sets the monthly email limit."""
        user = await users.create_user(
            data.username,
            data.email,
            data.password,
            admin=data.admin,
            plan=data.subscription_plan,
            users=accounts.users,
            hasher=accounts.hasher,
        )
        return UserRead.of(user)

    @get("", operation_id="listUsers", **access(Access.ADMIN))
    async def list_users(self, accounts: AccountsPorts, pagination: PageParameters) -> UserList:
        """All users, by id."""
        page = await users.list_users(
            limit=pagination.limit, offset=pagination.offset, users=accounts.users
        )
        return UserList(
            items=[UserRead.of(user) for user in page.items],
            total=page.total,
            limit=page.limit,
            offset=page.offset,
        )

    @get("/{user_id:int}", operation_id="getUser", **access(Access.ADMIN))
    async def get_user(self, accounts: AccountsPorts, user_id: ResourceId) -> UserRead:
        return UserRead.of(await users.get_user(user_id, users=accounts.users))

    @patch("/{user_id:int}", operation_id="updateUser", **access(Access.ADMIN))
    async def update(
        self,
        principal: CurrentPrincipal,
        accounts: AccountsPorts,
        user_id: ResourceId,
        data: JSONBody[UserUpdate],
    ) -> UserRead:
        """Suspend or re-activate (`account_status`) and change the plan, which resets
        `monthly_email_limit` to the plan's default. Suspension ends the user's sessions."""
        user = await users.get_user(user_id, users=accounts.users)
        if data.subscription_plan is not None:
            user = await users.change_plan(user_id, data.subscription_plan, users=accounts.users)
        if data.account_status is not None:
            user = await users.set_account_status(
                principal,
                user_id,
                data.account_status,
                users=accounts.users,
                sessions=accounts.sessions,
            )
        return UserRead.of(user)
