"""`SqlAlchemyOutboxStore`: the `outbox_messages` table, read newest first in keyset pages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Table, insert, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

from openmailer.adapters.db.tables.sending import OutboxMessageRow
from openmailer.adapters.db.unit_of_work import Statements, statements_on
from openmailer.adapters.db.users import from_db_time
from openmailer.core.errors import ValidationError
from openmailer.core.pages import KeysetPage, decode_cursor, encode_cursor
from openmailer.core.sending.model import NewOutboxMessage, OutboxMessage

OUTBOX = cast(Table, OutboxMessageRow.__table__)  # a mapped class's __table__ is typed FromClause
SUMMARY = [column for column in OUTBOX.c if column.name != "raw_message"]


def _to_message(row: RowMapping) -> OutboxMessage:
    return OutboxMessage(
        id=row["id"],
        user_id=row["user_id"],
        recipient=row["recipient_email"],
        subject=row["subject"],
        message_id=row["message_id"],
        campaign_id=row["campaign_id"],
        provider_id=row["provider_id"],
        sent_at=from_db_time(row["created_at"]) or datetime.now(UTC),
        raw=row.get("raw_message"),
    )


class SqlAlchemyOutboxStore:
    def __init__(self, target: AsyncEngine | Statements) -> None:
        self._db = statements_on(target)

    async def add(self, messages: Sequence[NewOutboxMessage]) -> list[int]:
        if not messages:
            return []
        rows = [
            {
                "user_id": message.user_id,
                "campaign_id": message.campaign_id,
                "provider_id": message.provider_id,
                "recipient_email": message.recipient,
                "subject": message.subject,
                "message_id": message.message_id,
                "raw_message": message.raw,
            }
            for message in messages
        ]
        async with self._db.write() as conn:
            # executemany with RETURNING in parameter order: one round trip, ids in order
            result = await conn.execute(
                insert(OUTBOX).returning(OUTBOX.c.id, sort_by_parameter_order=True), rows
            )
            return [int(row_id) for row_id in result.scalars()]

    async def list_for_user(
        self, user_id: int, *, limit: int, cursor: str | None
    ) -> KeysetPage[OutboxMessage]:
        statement = select(*SUMMARY).where(OUTBOX.c.user_id == user_id)
        if cursor is not None:
            (before,) = decode_cursor(cursor, arity=1)
            if not isinstance(before, int):
                raise ValidationError(
                    "the cursor is malformed or expired", field="cursor", code="bad_cursor"
                )
            statement = statement.where(OUTBOX.c.id < before)
        statement = statement.order_by(OUTBOX.c.id.desc()).limit(limit + 1)
        async with self._db.read() as conn:
            items = [_to_message(row._mapping) for row in await conn.execute(statement)]
        more = len(items) > limit
        items = items[:limit]
        return KeysetPage(
            items=items,
            limit=limit,
            next_cursor=encode_cursor([items[-1].id]) if more else None,
        )

    async def get(self, user_id: int, outbox_id: int) -> OutboxMessage | None:
        statement = select(OUTBOX).where(OUTBOX.c.id == outbox_id, OUTBOX.c.user_id == user_id)
        async with self._db.read() as conn:
            row = (await conn.execute(statement)).first()
        return None if row is None else _to_message(row._mapping)
