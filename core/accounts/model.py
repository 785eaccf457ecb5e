"""Accounts as the core sees them: plain values, never ORM rows."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from openmailer.core.errors import ValidationError

MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_BYTES = 72  # bcrypt ignores (or, in bcrypt>=4.1, refuses) anything longer

# What a new username or email may be: the HTTP schemas state these same patterns. No `@` in a
# username, so a login identifier is an email exactly when it has one.
USERNAME_PATTERN = r"^[A-Za-z0-9_.-]{3,64}$"
_EMAIL_LOCAL = r"[A-Za-z0-9_%+-]+(\.[A-Za-z0-9_%+-]+)*"
_DOMAIN_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?"
EMAIL_PATTERN = rf"^{_EMAIL_LOCAL}@{_DOMAIN_LABEL}(\.{_DOMAIN_LABEL})+$"
MAX_EMAIL_LENGTH = 254  # RFC 5321's path limit, less the angle brackets
MAX_EMAIL_LOCAL_PART = 64
MAX_DOMAIN_LABEL = 63
_USERNAME = re.compile(USERNAME_PATTERN)
_EMAIL = re.compile(EMAIL_PATTERN)


class Role(StrEnum):
    USER = "USER"
    ADMIN = "ADMIN"


class AccountStatus(StrEnum):
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"
    TRIAL = "TRIAL"
    EXPIRED = "EXPIRED"


BLOCKED_STATUSES = frozenset({AccountStatus.SUSPENDED, AccountStatus.EXPIRED})


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    email: str
    password_hash: str
    enabled: bool
    role: Role
    account_status: AccountStatus
    subscription_plan: str
    subscription_expires_at: datetime | None
    api_enabled: bool
    monthly_email_limit: int
    monthly_emails_sent: int
    last_login_at: datetime | None
    last_login_ip: str | None
    failed_login_attempts: int
    account_locked_until: datetime | None
    two_factor_enabled: bool
    two_factor_secret: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def may_sign_in(self) -> bool:
        """Suspended or expired accounts, and disabled users, are refused logins and API keys."""
        return self.enabled and self.account_status not in BLOCKED_STATUSES


@dataclass(frozen=True, slots=True)
class NewUser:
    username: str
    email: str
    password_hash: str
    role: Role
    subscription_plan: str
    monthly_email_limit: int


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: int
    user_id: int
    name: str
    display_prefix: str
    scopes: tuple[str, ...]
    is_active: bool
    last_used_at: datetime | None
    expires_at: datetime | None
    created_at: datetime

    @property
    def is_test(self) -> bool:
        """Test keys (`om_test_`) mark everything they create so no real provider is reached."""
        return self.display_prefix.startswith("om_test_")

    def usable_at(self, now: datetime) -> bool:
        return self.is_active and (self.expires_at is None or now < self.expires_at)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling and how: a login session carries every scope, an API key only its own."""

    user: User
    scopes: frozenset[str]
    api_key: ApiKey | None = None
    session_digest: str | None = None

    @property
    def via_session(self) -> bool:
        return self.api_key is None

    @property
    def is_test_mode(self) -> bool:
        """Calls made with an `om_test_` key: the send path must use the local outbox only."""
        return self.api_key is not None and self.api_key.is_test


def reject_overlong_password(password: str) -> None:
    """A clear 4xx for input bcrypt cannot take, checked before any lookup or hashing."""
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        raise ValidationError(
            f"password is longer than {MAX_PASSWORD_BYTES} bytes (UTF-8); choose a shorter one",
            field="password",
            code="password_too_long",
        )


def check_new_password(password: str) -> None:
    reject_overlong_password(password)
    if len(password) < MIN_PASSWORD_CHARS:
        raise ValidationError(
            f"password must have at least {MIN_PASSWORD_CHARS} characters",
            field="password",
            code="password_too_short",
        )


def normalise_username(username: str) -> str:
    """The stored form of a new username: lower case, so that `Ann` and `ann` are one name."""
    username = username.strip()
    if "@" in username:
        raise ValidationError(
            "a username cannot contain @: logins with an @ are looked up as emails",
            field="username",
            code="invalid_username",
        )
    if not _USERNAME.fullmatch(username):
        raise ValidationError(
            "a username has 3 to 64 characters, each an ASCII letter, a digit, '.', '_' or '-'",
            field="username",
            code="invalid_username",
        )
    return username.lower()


def normalise_email(email: str) -> str:
    """The stored form of a new email address: lower case, checked strictly.

    ASCII only, no quoted local parts, no IP-literal domains, at least two domain labels: the
    address is a login identifier and a recipient, so anything exotic is refused rather than
    half-supported.
    """
    email = email.strip()
    local, _, domain = email.partition("@")
    if (
        len(email) > MAX_EMAIL_LENGTH
        or not _EMAIL.fullmatch(email)
        or len(local) > MAX_EMAIL_LOCAL_PART
        or any(len(label) > MAX_DOMAIN_LABEL for label in domain.split("."))
    ):
        raise ValidationError(
            "not a valid email address (name@example.com: ASCII letters, digits and ._%+- "
            "before the @, a domain of at least two labels after it)",
            field="email",
            code="invalid_email",
        )
    return email.lower()


class LoginField(StrEnum):
    USERNAME = "username"
    EMAIL = "email"


def login_lookup(identifier: str) -> tuple[LoginField, str]:
    """Which column a login identifier names, and the value to compare it with (lower case).

    With an `@` it is an email, otherwise a username: usernames never contain one, so an
    identifier can never match one account by email and another by username.
    """
    field = LoginField.EMAIL if "@" in identifier else LoginField.USERNAME
    return field, identifier.lower()


def in_utc(moment: datetime, *, field: str) -> datetime:
    """An aware time from input, in UTC; its offset can push it past year 9999 or before year 1
    (`9999-12-31T23:59:59-14:00`), which no datetime can hold."""
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValidationError(
            f"{field} is outside the years 1 to 9999 once its UTC offset is applied",
            field=field,
            code="time_out_of_range",
        ) from None
