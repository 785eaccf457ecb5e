"""`/api/v1/me/two-factor`: TOTP enrolment, confirmation and disabling (login sessions only)."""

from __future__ import annotations

import msgspec
from litestar import Controller, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from openmailer.adapters.http.accounts.fields import Password, TotpCode
from openmailer.adapters.http.security import AccountsApi, CurrentPrincipal, access
from openmailer.core.accounts.scopes import Access


class TwoFactorEnrolment(msgspec.Struct):
    secret: str
    otpauth_uri: str


class TwoFactorBegin(msgspec.Struct):
    """The current password: a session alone cannot start an enrolment."""

    password: Password


class TwoFactorConfirm(msgspec.Struct):
    password: Password
    code: TotpCode


class TwoFactorDisable(msgspec.Struct):
    password: Password
    code: TotpCode


class TwoFactorController(Controller):
    path = "/me/two-factor"
    tags = ["me"]

    @post("", operation_id="beginTwoFactor", status_code=HTTP_201_CREATED, **access(Access.SESSION))
    async def begin(
        self, principal: CurrentPrincipal, accounts: AccountsApi, data: JSONBody[TwoFactorBegin]
    ) -> TwoFactorEnrolment:
        """A new TOTP secret and otpauth URI (for a QR code); needs the current password. Not
        active until confirmed; starting again replaces an unconfirmed secret."""
        enrolment = await accounts.begin_two_factor(principal, data.password)
        return TwoFactorEnrolment(secret=enrolment.secret, otpauth_uri=enrolment.otpauth_uri)

    @post(
        "/confirm",
        operation_id="confirmTwoFactor",
        status_code=HTTP_204_NO_CONTENT,
        **access(Access.SESSION),
    )
    async def confirm(
        self,
        principal: CurrentPrincipal,
        accounts: AccountsApi,
        data: JSONBody[TwoFactorConfirm],
    ) -> None:
        """Turn 2FA on with the current password and a code from the new secret; other sessions
        end. Wrong passwords and codes count towards the login lockout."""
        await accounts.confirm_two_factor(principal, data.password, data.code)

    @post(
        "/disable",
        operation_id="disableTwoFactor",
        status_code=HTTP_204_NO_CONTENT,
        **access(Access.SESSION),
    )
    async def disable(
        self,
        principal: CurrentPrincipal,
        accounts: AccountsApi,
        data: JSONBody[TwoFactorDisable],
    ) -> None:
        """Turn 2FA off; needs the password and a current code. Other sessions end."""
        await accounts.disable_two_factor(principal, data.password, data.code)
