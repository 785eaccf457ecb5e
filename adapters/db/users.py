"""`SqlAlchemyUserRepository`: the `users` table behind the UserRepository port.

Timestamps are stored as the spec's TIMESTAMP (without time zone) in UTC; the core sees aware UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, and_, case, func, insert, literal, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from openmailer.adapters.db.tables.users import User as UserRow
from openmailer.adapters.db.unit_of_work import Statements, statements_on
from openmailer.core.accounts.lockout import DOUBLINGS_CAP, LockoutPolicy
from openmailer.core.accounts.model import (
    AccountStatus,
    LoginField,
    NewUser,
    Role,
    User,
    login_lookup,
)
from openmailer.core.errors import Conflict
from openmailer.core.pages import Page

USERS = cast(Table, UserRow.__table__)  # a mapped class's __table__ is typed FromClause


def to_db_time(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(UTC).replace(tzinfo=None)


def from_db_time(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.replace(tzinfo=UTC)


def _sent_this_month(row: RowMapping) -> int:
    """The count for the current month (UTC): 0 when it was counted for an earlier month and no
    send has restarted it since (`monthly_quota.py`), so the usage and the preflight are right on
    the 1st before the monthly reset has run."""
    month = row.get("monthly_emails_month")
    if month is not None and month < datetime.now(UTC).date().replace(day=1):
        return 0
    return int(row["monthly_emails_sent"] or 0)


def _to_user(row: RowMapping) -> User:
    return User(
        id=row["id"],
        username=row["username"],
        email=row["email"],
        password_hash=row["password"],
        enabled=row["enabled"],
        role=Role(row["role"]),
        account_status=AccountStatus(row["account_status"]),
        subscription_plan=row["subscription_plan"] or "FREE",
        subscription_expires_at=from_db_time(row["subscription_expires_at"]),
        api_enabled=row["api_enabled"] is not False,
        monthly_email_limit=row["monthly_email_limit"] or 0,
        monthly_emails_sent=_sent_this_month(row),
        last_login_at=from_db_time(row["last_login_at"]),
        last_login_ip=row["last_login_ip"],
        failed_login_attempts=row["failed_login_attempts"] or 0,
        account_locked_until=from_db_time(row["account_locked_until"]),
        two_factor_enabled=bool(row["two_factor_enabled"]),
        two_factor_secret=row["two_factor_secret"],
        created_at=from_db_time(row["created_at"]) or datetime.now(UTC),
        updated_at=from_db_time(row["updated_at"]) or datetime.now(UTC),
    )


class SqlAlchemyUserRepository:
    def __init__(self, target: AsyncEngine | Statements) -> None:
        self._db = statements_on(target)

    async def get(self, user_id: int) -> User | None:
        return await self._one(select(USERS).where(USERS.c.id == user_id))

    async def find_by_login(self, identifier: str) -> User | None:
        field, value = login_lookup(identifier)
        # Emails are stored in lower case; usernames may predate that, and lower(username) is
        # what idx_users_username_lower keeps unique.
        condition = (
            USERS.c.email == value
            if field is LoginField.EMAIL
            else func.lower(USERS.c.username) == value
        )
        return await self._one(select(USERS).where(condition))

    async def add(self, user: NewUser) -> User:
        values = {
            "username": user.username,
            "email": user.email,
            "password": user.password_hash,
            "role": user.role.value,
            "subscription_plan": user.subscription_plan,
            "monthly_email_limit": user.monthly_email_limit,
        }
        try:
            async with self._db.write() as conn:
                row = (await conn.execute(insert(USERS).values(values).returning(USERS))).one()
        except IntegrityError as error:
            taken = "email" if "email" in str(error.orig) else "username"
            raise Conflict(f"that {taken} is already taken", code=f"{taken}_taken") from None
        return _to_user(row._mapping)

    async def list_users(self, *, limit: int, offset: int) -> Page[User]:
        async with self._db.read() as conn:
            total = await conn.scalar(select(func.count()).select_from(USERS))
            rows = await conn.execute(
                select(USERS).order_by(USERS.c.id).limit(limit).offset(offset)
            )
            items = [_to_user(row._mapping) for row in rows]
        return Page(items=items, total=int(total or 0), limit=limit, offset=offset)

    async def any_admin(self) -> bool:
        async with self._db.read() as conn:
            found = await conn.scalar(select(USERS.c.id).where(USERS.c.role == "ADMIN").limit(1))
        return found is not None

    async def record_login(self, user_id: int, *, at: datetime, ip: str | None) -> None:
        await self._update(
            user_id, {"last_login_at": to_db_time(at), "last_login_ip": (ip or None) and ip[:45]}
        )

    async def claim_attempt(
        self, user_id: int, *, now: datetime, policy: LockoutPolicy
    ) -> int | None:
        # One statement: the lock check, the count and, at the limit, the lock itself, so no two
        # concurrent claims can both see the account unlocked once the limit is reached.
        failures = func.coalesce(USERS.c.failed_login_attempts, 0) + 1
        doublings = func.least(func.greatest(failures - policy.max_failures, 0), DOUBLINGS_CAP)
        lock_seconds = func.least(
            policy.base_lock.total_seconds() * func.power(2, doublings),
            policy.max_lock.total_seconds(),
        )
        at = to_db_time(now)
        statement = (
            update(USERS)
            .where(
                USERS.c.id == user_id,
                or_(USERS.c.account_locked_until.is_(None), USERS.c.account_locked_until <= at),
            )
            .values(
                failed_login_attempts=failures,
                account_locked_until=case(
                    (
                        failures >= policy.max_failures,
                        literal(at) + func.make_interval(0, 0, 0, 0, 0, 0, lock_seconds),
                    ),
                    else_=USERS.c.account_locked_until,
                ),
            )
            .returning(USERS.c.failed_login_attempts)
        )
        async with self._db.write() as conn:
            claimed = (await conn.execute(statement)).scalar_one_or_none()
        return None if claimed is None else int(claimed)

    async def release_attempts(self, user_id: int, claimed: int, *, policy: LockoutPolicy) -> None:
        remaining = func.greatest(func.coalesce(USERS.c.failed_login_attempts, 0) - claimed, 0)
        # Only a lock this claim (or one before it) earned is lifted; one earned by failures
        # claimed after it stands.
        lock_kept: Any = USERS.c.account_locked_until
        if claimed >= policy.max_failures:
            lock_kept = case((remaining < policy.max_failures, None), else_=lock_kept)
        statement = (
            update(USERS)
            .where(USERS.c.id == user_id)
            .values(
                failed_login_attempts=remaining,
                account_locked_until=lock_kept,
            )
        )
        async with self._db.write() as conn:
            await conn.execute(statement)

    async def set_password(self, user_id: int, password_hash: str) -> None:
        await self._update(user_id, {"password": password_hash})

    async def set_status(self, user_id: int, status: AccountStatus) -> User | None:
        return await self._update(user_id, {"account_status": status.value})

    async def set_plan(self, user_id: int, plan: str, monthly_email_limit: int) -> User | None:
        values = {"subscription_plan": plan, "monthly_email_limit": monthly_email_limit}
        return await self._update(user_id, values)

    async def set_two_factor(self, user_id: int, *, enabled: bool, secret: str | None) -> None:
        await self._update(user_id, {"two_factor_enabled": enabled, "two_factor_secret": secret})

    async def start_two_factor(self, user_id: int, secret: str) -> bool:
        off = USERS.c.two_factor_enabled.is_not(True)
        values = {"two_factor_enabled": False, "two_factor_secret": secret}
        return await self._update(user_id, values, off) is not None

    async def enable_two_factor(self, user_id: int, secret: str) -> bool:
        pending = and_(USERS.c.two_factor_enabled.is_not(True), USERS.c.two_factor_secret == secret)
        return await self._update(user_id, {"two_factor_enabled": True}, pending) is not None

    async def two_factor_secrets(self) -> list[tuple[int, str]]:
        query = select(USERS.c.id, USERS.c.two_factor_secret).where(
            USERS.c.two_factor_secret.is_not(None)
        )
        async with self._db.read() as conn:
            return [(row.id, row.two_factor_secret) for row in await conn.execute(query)]

    async def _one(self, query: Any) -> User | None:
        async with self._db.read() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else _to_user(row._mapping)

    async def _update(
        self, user_id: int, values: Mapping[str, Any], *conditions: Any
    ) -> User | None:
        statement = (
            update(USERS)
            .where(USERS.c.id == user_id, *conditions)
            .values({**values, "updated_at": func.timezone("UTC", func.now())})
            .returning(USERS)
        )
        async with self._db.write() as conn:
            row = (await conn.execute(statement)).first()
        return None if row is None else _to_user(row._mapping)
