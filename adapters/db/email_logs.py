"""`SqlAlchemyEmailLogStore` (the `email_logs` table, read newest first in keyset pages),
`SqlAlchemyIdempotencyStore` and `SqlAlchemySendQuota` (the monthly count on `users`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

from openmailer.adapters.db.monthly_quota import TAKE_QUOTA
from openmailer.adapters.db.tables.messages import IdempotencyKey
from openmailer.adapters.db.tables.sending import EmailLog
from openmailer.adapters.db.tables.users import User
from openmailer.adapters.db.unit_of_work import Statements, statements_on
from openmailer.adapters.db.users import from_db_time, to_db_time
from openmailer.core.errors import ValidationError
from openmailer.core.messages.model import EmailLogEntry, EmailLogFilter, NewEmailLog
from openmailer.core.pages import KeysetPage, decode_cursor, encode_cursor
from openmailer.core.ports.messages import IdempotencyRecord

LOGS = cast(Table, EmailLog.__table__)
KEYS = cast(Table, IdempotencyKey.__table__)
USERS = cast(Table, User.__table__)


def _to_entry(row: RowMapping) -> EmailLogEntry:
    return EmailLogEntry(
        id=row["id"],
        user_id=row["user_id"],
        email_type=row["email_type"],
        recipient_email=row["recipient_email"],
        subject=row["subject"],
        status=row["status"],
        provider_id=row["provider_id"],
        provider_message_id=row["provider_message_id"],
        error_message=row["error_message"],
        campaign_id=row["campaign_id"],
        sent_at=from_db_time(row["sent_at"]),
        delivered_at=from_db_time(row["delivered_at"]),
        created_at=from_db_time(row["created_at"]) or datetime.now(UTC),
    )


class SqlAlchemyEmailLogStore:
    def __init__(self, target: AsyncEngine | Statements) -> None:
        self._db = statements_on(target)

    async def add(self, entry: NewEmailLog) -> EmailLogEntry:
        statement = (
            insert(LOGS)
            .values(
                user_id=entry.user_id,
                email_type=entry.email_type,
                recipient_email=entry.recipient_email,
                subject=entry.subject,
                status=entry.status,
                provider_id=entry.provider_id,
            )
            .returning(LOGS)
        )
        async with self._db.write() as conn:
            row = (await conn.execute(statement)).one()
        return _to_entry(row._mapping)

    async def get(self, user_id: int, log_id: int) -> EmailLogEntry | None:
        statement = select(LOGS).where(LOGS.c.id == log_id, LOGS.c.user_id == user_id)
        async with self._db.read() as conn:
            row = (await conn.execute(statement)).first()
        return None if row is None else _to_entry(row._mapping)

    async def record_outcome(
        self,
        log_id: int,
        *,
        status: str,
        provider_message_id: str | None,
        error: str | None,
        sent_at: datetime | None,
        provider_id: int | None = None,
    ) -> None:
        values: dict[str, object] = {
            "status": status,
            "provider_message_id": provider_message_id,
            "error_message": error,
            "sent_at": to_db_time(sent_at),
        }
        if provider_id is not None:
            values["provider_id"] = provider_id
        statement = update(LOGS).where(LOGS.c.id == log_id).values(**values)
        async with self._db.write() as conn:
            await conn.execute(statement)

    async def list_for_user(
        self, user_id: int, filters: EmailLogFilter, *, limit: int, after: str | None
    ) -> KeysetPage[EmailLogEntry]:
        statement = select(LOGS).where(LOGS.c.user_id == user_id)
        if filters.status is not None:
            statement = statement.where(LOGS.c.status == filters.status)
        if filters.email_type is not None:
            statement = statement.where(LOGS.c.email_type == filters.email_type)
        if filters.recipient is not None:
            statement = statement.where(LOGS.c.recipient_email == filters.recipient)
        if filters.created_from is not None:
            statement = statement.where(LOGS.c.created_at >= to_db_time(filters.created_from))
        if filters.created_to is not None:
            statement = statement.where(LOGS.c.created_at < to_db_time(filters.created_to))
        if after is not None:
            (before,) = decode_cursor(after, arity=1)
            if not isinstance(before, int):
                raise ValidationError(
                    "the cursor is malformed or expired", field="after", code="bad_cursor"
                )
            statement = statement.where(LOGS.c.id < before)
        # ids grow with created_at: newest first by id uses the primary key.
        statement = statement.order_by(LOGS.c.id.desc()).limit(limit + 1)
        async with self._db.read() as conn:
            items = [_to_entry(row._mapping) for row in await conn.execute(statement)]
        more = len(items) > limit
        items = items[:limit]
        return KeysetPage(
            items=items, limit=limit, next_cursor=encode_cursor([items[-1].id]) if more else None
        )


class SqlAlchemyIdempotencyStore:
    def __init__(self, target: AsyncEngine | Statements) -> None:
        self._db = statements_on(target)

    async def claim(
        self, user_id: int, key: str, request_hash: str, *, now: datetime, expires_at: datetime
    ) -> IdempotencyRecord | None:
        values: dict[str, object] = {
            "user_id": user_id,
            "idempotency_key": key,
            "request_hash": request_hash,
            "email_log_id": None,
            "created_at": to_db_time(now),
            "expires_at": to_db_time(expires_at),
        }
        inserting = pg_insert(KEYS).values(**values)
        # An expired key is claimed afresh; a live one is left alone (the WHERE).
        statement = inserting.on_conflict_do_update(
            constraint="uq_idempotency_keys_user_key",
            set_={name: inserting.excluded[name] for name in values if name != "user_id"},
            where=KEYS.c.expires_at <= to_db_time(now),
        ).returning(KEYS.c.id)
        async with self._db.write() as conn:
            if (await conn.execute(statement)).first() is not None:
                return None
            held = (
                await conn.execute(
                    select(KEYS.c.request_hash, KEYS.c.email_log_id, KEYS.c.email_log_ids).where(
                        KEYS.c.user_id == user_id, KEYS.c.idempotency_key == key
                    )
                )
            ).one()
        if held.email_log_id is None:
            return IdempotencyRecord(request_hash=held.request_hash, log_ids=None)
        # Keys completed before migration 031 hold only the one id.
        log_ids = tuple(held.email_log_ids or (held.email_log_id,))
        return IdempotencyRecord(request_hash=held.request_hash, log_ids=log_ids)

    async def complete(self, user_id: int, key: str, log_ids: Sequence[int]) -> None:
        statement = (
            update(KEYS)
            .where(KEYS.c.user_id == user_id, KEYS.c.idempotency_key == key)
            .values(email_log_id=log_ids[0], email_log_ids=list(log_ids))
        )
        async with self._db.write() as conn:
            await conn.execute(statement)

    async def release(self, user_id: int, key: str) -> None:
        statement = delete(KEYS).where(
            KEYS.c.user_id == user_id,
            KEYS.c.idempotency_key == key,
            KEYS.c.email_log_id.is_(None),
        )
        async with self._db.write() as conn:
            await conn.execute(statement)

    async def purge_expired(self, *, now: datetime, batch_size: int) -> int:
        # A bounded batch by the expires_at index: each call is one short transaction.
        expired = (
            select(KEYS.c.id)
            .where(KEYS.c.expires_at <= to_db_time(now))
            .order_by(KEYS.c.expires_at)
            .limit(batch_size)
            .scalar_subquery()
        )
        statement = delete(KEYS).where(KEYS.c.id.in_(expired), KEYS.c.expires_at <= to_db_time(now))
        async with self._db.write() as conn:
            return int((await conn.execute(statement)).rowcount)


class SqlAlchemySendQuota:
    def __init__(self, target: AsyncEngine | Statements) -> None:
        self._db = statements_on(target)

    async def take(self, user_id: int, count: int) -> bool:
        async with self._db.write() as conn:
            taken = await conn.execute(TAKE_QUOTA, {"user_id": user_id, "count": count})
            return taken.first() is not None
