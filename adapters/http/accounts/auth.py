"""`/api/v1/auth`: login and logout."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec
from litestar import Controller, Request, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from openmailer.adapters.http.accounts.fields import LoginIdentifier, Password, TotpCode
from openmailer.adapters.http.accounts.users import UserRead
from openmailer.adapters.http.security import AccountsApi, CurrentPrincipal, access
from openmailer.core.accounts.scopes import Access


class LoginRequest(msgspec.Struct):
    identifier: LoginIdentifier
    password: Password
    totp_code: TotpCode | None = None


class SessionCreated(msgspec.Struct):
    token: str
    token_type: Literal["Bearer"]
    expires_at: datetime
    user: UserRead


class AuthController(Controller):
    path = "/auth"
    tags = ["auth"]

    @post("/login", operation_id="login", status_code=HTTP_200_OK, **access(Access.PUBLIC))
    async def login(
        self, request: Request[Any, Any, Any], accounts: AccountsApi, data: JSONBody[LoginRequest]
    ) -> SessionCreated:
        """Exchange a username or email and password (plus `totp_code` when 2FA is on) for a
        session token. Unknown users and wrong passwords answer identically."""
        result = await accounts.login(
            data.identifier,
            data.password,
            totp_code=data.totp_code,
            client_ip=request.client.host if request.client else None,
        )
        return SessionCreated(
            token=result.token,
            token_type="Bearer",  # noqa: S106 - the scheme name, not a secret
            expires_at=result.expires_at,
            user=UserRead.of(result.user),
        )

    @post(
        "/logout",
        operation_id="logout",
        status_code=HTTP_204_NO_CONTENT,
        **access(Access.SESSION, never_throttled=True),
    )
    async def logout(self, principal: CurrentPrincipal, accounts: AccountsApi) -> None:
        """End the session whose token authenticated this request; never refused by the
        rate limit."""
        await accounts.logout(principal)
