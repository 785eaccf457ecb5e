"""`/api/v1/me/two-factor`: TOTP enrolment, confirmation and disabling (login sessions only)."""

from __future__ import annotations

from litestar import Controller, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from openmailer.adapters.http.schemas import TwoFactorConfirm, TwoFactorDisable, TwoFactorEnrolment
from openmailer.adapters.http.security import AccountsPorts, CurrentPrincipal, access
from openmailer.core.accounts.scopes import Access
from openmailer.core.accounts.services import two_factor


class TwoFactorController(Controller):
    path = "/me/two-factor"
    tags = ["me"]

    @post("", operation_id="beginTwoFactor", status_code=HTTP_201_CREATED, **access(Access.SESSION))
    async def begin(
        self, principal: CurrentPrincipal, accounts: AccountsPorts
    ) -> TwoFactorEnrolment:
        """A new TOTP secret and otpauth URI (for a QR code). Not active until confirmed;
        starting again replaces an unconfirmed secret."""
        enrolment = await two_factor.begin_enrolment(
            principal, users=accounts.users, secret_box=accounts.secret_box
        )
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
        accounts: AccountsPorts,
        data: JSONBody[TwoFactorConfirm],
    ) -> None:
        """Turn 2FA on with a current code; other sessions end."""
        await two_factor.confirm_enrolment(
            principal,
            data.code,
            users=accounts.users,
            secret_box=accounts.secret_box,
            replay_guard=accounts.replay_guard,
            sessions=accounts.sessions,
            clock=accounts.clock,
        )

    @post(
        "/disable",
        operation_id="disableTwoFactor",
        status_code=HTTP_204_NO_CONTENT,
        **access(Access.SESSION),
    )
    async def disable(
        self,
        principal: CurrentPrincipal,
        accounts: AccountsPorts,
        data: JSONBody[TwoFactorDisable],
    ) -> None:
        """Turn 2FA off; needs the password and a current code. Other sessions end."""
        await two_factor.disable(
            principal,
            data.password,
            data.code,
            users=accounts.users,
            hasher=accounts.hasher,
            secret_box=accounts.secret_box,
            replay_guard=accounts.replay_guard,
            sessions=accounts.sessions,
            clock=accounts.clock,
        )
