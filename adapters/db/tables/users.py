"""Accounts: users, their API keys and the rate-limit audit table (spec tables 1, 13, 14)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    false,
    func,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import Text

from openmailer.adapters.db.base import (
    Base,
    enum_check,
    integer_default,
    subset_check,
    timestamp_now_column,
)
from openmailer.core.accounts.model import AccountStatus, Role
from openmailer.core.accounts.plans import Plan
from openmailer.core.accounts.scopes import Scope

# The CHECK constraints take their values from the domain's vocabularies, so the two cannot drift.
USER_ROLES = tuple(Role)
ACCOUNT_STATUSES = tuple(AccountStatus)
SUBSCRIPTION_PLANS = tuple(Plan)
API_KEY_SCOPES = tuple(Scope)
RATE_LIMIT_RESOURCES = ("API_REQUEST", "EMAIL_SEND", "SUBSCRIPTION")


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        enum_check("role", USER_ROLES),
        enum_check("account_status", ACCOUNT_STATUSES),
        enum_check("subscription_plan", SUBSCRIPTION_PLANS),
        # The spec indexes these besides their UNIQUE constraints; unique=True plus index=True
        # would fold both into one unique index, so the plain indexes are declared here.
        Index("idx_users_username", "username"),
        Index("idx_users_email", "email"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    username: Mapped[str] = mapped_column(String(255), unique=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    password: Mapped[str] = mapped_column(String(255))
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=true())
    created_at: Mapped[datetime] = timestamp_now_column()
    updated_at: Mapped[datetime] = timestamp_now_column()
    role: Mapped[str] = mapped_column(String(50), server_default="USER", index=True)
    account_status: Mapped[str] = mapped_column(String(50), server_default="ACTIVE", index=True)
    subscription_plan: Mapped[str | None] = mapped_column(String(50), server_default="FREE")
    subscription_expires_at: Mapped[datetime | None] = mapped_column(DateTime())
    api_enabled: Mapped[bool | None] = mapped_column(Boolean, server_default=true())
    monthly_email_limit: Mapped[int | None] = mapped_column(
        Integer, server_default=integer_default(1000)
    )
    monthly_emails_sent: Mapped[int | None] = mapped_column(
        Integer, server_default=integer_default(0)
    )
    # Not in the spec (migration 038): the month (its first day) monthly_emails_sent counts for.
    monthly_emails_month: Mapped[date | None] = mapped_column(Date)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime())
    last_login_ip: Mapped[str | None] = mapped_column(String(45))
    failed_login_attempts: Mapped[int | None] = mapped_column(
        Integer, server_default=integer_default(0)
    )
    account_locked_until: Mapped[datetime | None] = mapped_column(DateTime())
    two_factor_enabled: Mapped[bool | None] = mapped_column(Boolean, server_default=false())
    two_factor_secret: Mapped[str | None] = mapped_column(String(255))


# Logins match usernames ignoring case (migration 021); declared outside the class because the
# expression needs the mapped column.
Index("idx_users_username_lower", func.lower(User.username), unique=True)


class ApiKey(Base):
    __tablename__ = "api_keys"
    __table_args__ = (
        subset_check("scopes", API_KEY_SCOPES),
        Index("idx_api_keys_key", "api_key"),
        Index("idx_api_keys_active", "is_active"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    key_name: Mapped[str] = mapped_column(String(255))
    api_key: Mapped[str] = mapped_column(String(64), unique=True)
    key_prefix: Mapped[str] = mapped_column(String(10))
    scopes: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    is_active: Mapped[bool | None] = mapped_column(Boolean, server_default=true())
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime())
    expires_at: Mapped[datetime | None] = mapped_column(DateTime())
    created_at: Mapped[datetime] = timestamp_now_column()


class RateLimit(Base):
    __tablename__ = "rate_limits"
    __table_args__ = (
        enum_check("resource_type", RATE_LIMIT_RESOURCES),
        UniqueConstraint(
            "user_id", "resource_type", "window_start", name="unique_rate_limit_window"
        ),
        Index("idx_rate_limits_user_resource", "user_id", "resource_type", "window_end"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    resource_type: Mapped[str] = mapped_column(String(50))
    window_start: Mapped[datetime] = mapped_column(DateTime())
    window_end: Mapped[datetime] = mapped_column(DateTime())
    request_count: Mapped[int | None] = mapped_column(Integer, server_default=integer_default(0))
    limit_value: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = timestamp_now_column()
