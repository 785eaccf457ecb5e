"""`/api/v1/me`: the caller, password change, usage."""

from __future__ import annotations

import msgspec
from litestar import Controller, get, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_204_NO_CONTENT

from openmailer.adapters.http.accounts.fields import NewPassword, Password, TotpCode
from openmailer.adapters.http.accounts.users import UserRead
from openmailer.adapters.http.security import AccountsApi, CurrentPrincipal, access
from openmailer.core.accounts.plans import limits_for
from openmailer.core.accounts.scopes import Access, Scope


class PasswordChange(msgspec.Struct):
    current_password: Password
    new_password: NewPassword
    totp_code: TotpCode | None = None  # required when 2FA is on


class UsageRead(msgspec.Struct):
    subscription_plan: str
    monthly_email_limit: int
    monthly_emails_sent: int
    api_requests_per_minute: int


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
        accounts: AccountsApi,
        data: JSONBody[PasswordChange],
    ) -> None:
        """Set a new password; needs the current one (and `totp_code` when 2FA is on). Wrong
        answers count towards the login lockout. Every other session of the user ends."""
        await accounts.change_password(
            principal, data.current_password, data.new_password, totp_code=data.totp_code
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
