"""`SqlAlchemyApiKeyRepository`: the `api_keys` table (only SHA-256 digests are stored)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

from openmailer.adapters.db.tables.users import ApiKey as ApiKeyRow
from openmailer.adapters.db.unit_of_work import Statements, statements_on
from openmailer.adapters.db.users import from_db_time, to_db_time
from openmailer.core.accounts.model import ApiKey
from openmailer.core.pages import Page
from openmailer.core.ports.accounts import NewApiKeyRecord

API_KEYS = cast(Table, ApiKeyRow.__table__)  # a mapped class's __table__ is typed FromClause


def _to_api_key(row: RowMapping) -> ApiKey:
    return ApiKey(
        id=row["id"],
        user_id=row["user_id"],
        name=row["key_name"],
        display_prefix=row["key_prefix"],
        scopes=tuple(row["scopes"] or ()),
        is_active=row["is_active"] is not False,
        last_used_at=from_db_time(row["last_used_at"]),
        expires_at=from_db_time(row["expires_at"]),
        created_at=from_db_time(row["created_at"]) or datetime.now(UTC),
    )


class SqlAlchemyApiKeyRepository:
    def __init__(self, target: AsyncEngine | Statements) -> None:
        self._db = statements_on(target)

    async def add(self, record: NewApiKeyRecord) -> ApiKey:
        values = {
            "user_id": record.user_id,
            "key_name": record.name,
            "api_key": record.digest,
            "key_prefix": record.display_prefix,
            "scopes": list(record.scopes),
            "expires_at": to_db_time(record.expires_at),
        }
        async with self._db.write() as conn:
            row = (await conn.execute(insert(API_KEYS).values(values).returning(API_KEYS))).one()
        return _to_api_key(row._mapping)

    async def find_by_digest(self, digest: str) -> ApiKey | None:
        async with self._db.read() as conn:
            row = (await conn.execute(select(API_KEYS).where(API_KEYS.c.api_key == digest))).first()
        return None if row is None else _to_api_key(row._mapping)

    async def list_for_user(self, user_id: int, *, limit: int, offset: int) -> Page[ApiKey]:
        mine = API_KEYS.c.user_id == user_id
        async with self._db.read() as conn:
            total = await conn.scalar(select(func.count()).select_from(API_KEYS).where(mine))
            rows = await conn.execute(
                select(API_KEYS).where(mine).order_by(API_KEYS.c.id).limit(limit).offset(offset)
            )
            items = [_to_api_key(row._mapping) for row in rows]
        return Page(items=items, total=int(total or 0), limit=limit, offset=offset)

    async def deactivate(self, user_id: int, key_id: int) -> bool:
        statement = (
            update(API_KEYS)
            .where(
                API_KEYS.c.id == key_id,
                API_KEYS.c.user_id == user_id,
                API_KEYS.c.is_active.is_not(False),
            )
            .values(is_active=False)
            .returning(API_KEYS.c.id)
        )
        async with self._db.write() as conn:
            return (await conn.execute(statement)).first() is not None

    async def record_last_used(self, last_used: Mapping[int, datetime]) -> None:
        if not last_used:
            return
        newer = API_KEYS.c.last_used_at.is_(None) | (API_KEYS.c.last_used_at < bindparam("used_at"))
        statement = (
            update(API_KEYS)
            .where(API_KEYS.c.id == bindparam("key_id"), newer)
            .values(last_used_at=bindparam("used_at"))
        )
        rows = [{"key_id": key_id, "used_at": to_db_time(at)} for key_id, at in last_used.items()]
        async with self._db.write() as conn:
            await conn.execute(statement, rows)
