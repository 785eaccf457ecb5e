"""`/api/v1/auth`: login and logout; `/api/v1/me`: the caller, password change, usage."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from openmailer.adapters.http.schemas import (
    LoginRequest,
    PasswordChange,
    SessionCreated,
    UsageRead,
    UserRead,
)
from openmailer.adapters.http.security import AccountsPorts, CurrentPrincipal, access
from openmailer.core.accounts.plans import limits_for
from openmailer.core.accounts.scopes import Access, Scope
from openmailer.core.accounts.services import auth


class AuthController(Controller):
    path = "/auth"
    tags = ["auth"]

    @post("/login", operation_id="login", status_code=HTTP_200_OK, **access(Access.PUBLIC))
    async def login(
        self, request: Request[Any, Any, Any], accounts: AccountsPorts, data: JSONBody[LoginRequest]
    ) -> SessionCreated:
        """Exchange a username or email and password (plus `totp_code` when 2FA is on) for a
        session token. Unknown users and wrong passwords answer identically."""
        result = await auth.login(
            data.identifier,
            data.password,
            totp_code=data.totp_code,
            client_ip=request.client.host if request.client else None,
            users=accounts.users,
            hasher=accounts.hasher,
            sessions=accounts.sessions,
            secret_box=accounts.secret_box,
            replay_guard=accounts.replay_guard,
            clock=accounts.clock,
        )
        return SessionCreated(
            token=result.token,
            token_type="Bearer",  # noqa: S106 - the scheme name, not a secret
            expires_at=result.expires_at,
            user=UserRead.of(result.user),
        )

    @post(
        "/logout", operation_id="logout", status_code=HTTP_204_NO_CONTENT, **access(Access.SESSION)
    )
    async def logout(self, principal: CurrentPrincipal, accounts: AccountsPorts) -> None:
        """End the session whose token authenticated this request."""
        await auth.logout(principal, sessions=accounts.sessions)


class MeController(Controller):
    path = "/me"
    tags = ["me"]

    @get("", operation_id="getMe", **access(Access.AUTHENTICATED))
    async def me(self, principal: CurrentPrincipal) -> UserRead:
        """The user behind the credential (session or API key)."""
        return UserRead.of(principal.user)

    @post(
        "/password",
        operation_id="changePassword",
        status_code=HTTP_204_NO_CONTENT,
        **access(Access.SESSION),
    )
    async def change_password(
        self,
        principal: CurrentPrincipal,
        accounts: AccountsPorts,
        data: JSONBody[PasswordChange],
    ) -> None:
        """Set a new password; every other session of the user ends."""
        await auth.change_password(
            principal,
            data.current_password,
            data.new_password,
            users=accounts.users,
            hasher=accounts.hasher,
            sessions=accounts.sessions,
        )

    @get("/usage", operation_id="getUsage", **access(Scope.READ_ANALYTICS))
    async def usage(self, principal: CurrentPrincipal) -> UsageRead:
        """The caller's plan, monthly email allowance and API request quota."""
        user = principal.user
        return UsageRead(
            subscription_plan=user.subscription_plan,
            monthly_email_limit=user.monthly_email_limit,
            monthly_emails_sent=user.monthly_emails_sent,
            api_requests_per_minute=limits_for(user.subscription_plan).api_requests_per_minute,
        )
