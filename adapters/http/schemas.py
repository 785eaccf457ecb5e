"""msgspec schemas of the accounts API: read / create / update shapes, with their constraints.

Constraints live here (not only in the core) so the OpenAPI document states them and clients, and
schemathesis, know what is valid.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from openmailer.core.accounts.model import ApiKey, User
from openmailer.core.accounts.scopes import Scope

Username = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.-]{3,64}$", examples=["ann"])]
Email = Annotated[
    str,
    msgspec.Meta(
        max_length=254,
        pattern=r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$",
        examples=["ann@example.com"],
    ),
]
LoginIdentifier = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9._%+@-]{1,254}$")]
# At most 72 characters; over 72 bytes of UTF-8 is refused with 422 `password_too_long`.
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=72)]
NewPassword = Annotated[str, msgspec.Meta(min_length=8, max_length=72)]
TotpCode = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{6}$", examples=["123456"])]
KeyName = Annotated[
    str, msgspec.Meta(pattern=r"^[^\x00-\x1f\x7f]{1,255}$", examples=["newsletter sync"])
]
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]
PlanName = Literal["FREE", "BASIC", "PRO", "ENTERPRISE"]
StatusName = Literal["ACTIVE", "SUSPENDED", "TRIAL", "EXPIRED"]


class LoginRequest(msgspec.Struct):
    identifier: LoginIdentifier
    password: Password
    totp_code: TotpCode | None = None


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


class SessionCreated(msgspec.Struct):
    token: str
    token_type: Literal["Bearer"]
    expires_at: datetime
    user: UserRead


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


class UserList(msgspec.Struct):
    items: list[UserRead]
    total: int
    limit: int
    offset: int


class PasswordChange(msgspec.Struct):
    current_password: Password
    new_password: NewPassword


class TwoFactorEnrolment(msgspec.Struct):
    secret: str
    otpauth_uri: str


class TwoFactorConfirm(msgspec.Struct):
    code: TotpCode


class TwoFactorDisable(msgspec.Struct):
    password: Password
    code: TotpCode


class ApiKeyCreate(msgspec.Struct):
    name: KeyName
    scopes: Annotated[list[Scope], msgspec.Meta(max_length=8)]
    test: bool = False
    expires_at: AwareDatetime | None = None


class ApiKeyRead(msgspec.Struct):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    test: bool
    is_active: bool
    last_used_at: datetime | None
    expires_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyRead:
        return cls(
            id=key.id,
            name=key.name,
            prefix=key.display_prefix,
            scopes=list(key.scopes),
            test=key.is_test,
            is_active=key.is_active,
            last_used_at=key.last_used_at,
            expires_at=key.expires_at,
            created_at=key.created_at,
        )


class ApiKeyCreated(msgspec.Struct):
    """`key` is shown this once; only its SHA-256 is stored."""

    key: str
    api_key: ApiKeyRead


class ApiKeyList(msgspec.Struct):
    items: list[ApiKeyRead]
    total: int
    limit: int
    offset: int


class UsageRead(msgspec.Struct):
    subscription_plan: str
    monthly_email_limit: int
    monthly_emails_sent: int
    api_requests_per_minute: int
