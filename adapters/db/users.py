"""`SqlAlchemyUserRepository`: the `users` table behind the UserRepository port.

Timestamps are stored as the spec's TIMESTAMP (without time zone) in UTC; the core sees aware UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from openmailer.adapters.db.tables.users import User as UserRow
from openmailer.adapters.db.unit_of_work import Statements, statements_on
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
        monthly_emails_sent=row["monthly_emails_sent"] or 0,
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
            user_id,
            {
                "last_login_at": to_db_time(at),
                "last_login_ip": (ip or None) and ip[:45],
                "failed_login_attempts": 0,
                "account_locked_until": None,
            },
        )

    async def count_failed_login(self, user_id: int) -> int:
        statement = (
            update(USERS)
            .where(USERS.c.id == user_id)
            .values(failed_login_attempts=func.coalesce(USERS.c.failed_login_attempts, 0) + 1)
            .returning(USERS.c.failed_login_attempts)
        )
        async with self._db.write() as conn:
            return int((await conn.execute(statement)).scalar_one())

    async def lock_until(self, user_id: int, until: datetime) -> None:
        await self._update(user_id, {"account_locked_until": to_db_time(until)})

    async def set_password(self, user_id: int, password_hash: str) -> None:
        await self._update(user_id, {"password": password_hash})

    async def set_status(self, user_id: int, status: AccountStatus) -> User | None:
        return await self._update(user_id, {"account_status": status.value})

    async def set_plan(self, user_id: int, plan: str, monthly_email_limit: int) -> User | None:
        values = {"subscription_plan": plan, "monthly_email_limit": monthly_email_limit}
        return await self._update(user_id, values)

    async def set_two_factor(self, user_id: int, *, enabled: bool, secret: str | None) -> None:
        await self._update(user_id, {"two_factor_enabled": enabled, "two_factor_secret": secret})

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

    async def _update(self, user_id: int, values: Mapping[str, Any]) -> User | None:
        statement = (
            update(USERS)
            .where(USERS.c.id == user_id)
            .values({**values, "updated_at": func.timezone("UTC", func.now())})
            .returning(USERS)
        )
        async with self._db.write() as conn:
            row = (await conn.execute(statement)).first()
        return None if row is None else _to_user(row._mapping)
