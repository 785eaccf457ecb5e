"""`SqlAlchemySegmentRepository` (the `segments` table) and `SqlAlchemyAudienceQuery` (segment
conditions run over `contacts`, compiled by `segment_sql`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

from openmailer.adapters.db.custom_field_indexes import plan_audience
from openmailer.adapters.db.segment_sql import CONTACTS, LISTS, audience_where, count_statement
from openmailer.adapters.db.tables.contacts import Segment as SegmentRow
from openmailer.adapters.db.unit_of_work import Statements, statements_on
from openmailer.adapters.db.users import from_db_time, to_db_time
from openmailer.core.pages import Page
from openmailer.core.registry import Registry
from openmailer.core.segments.conditions import Group
from openmailer.core.segments.model import ContactSummary, NewSegment, Segment, SegmentChanges
from openmailer.core.segments.operators import SegmentOperator

SEGMENTS = cast(Table, SegmentRow.__table__)


def _to_segment(row: RowMapping) -> Segment:
    return Segment(
        id=row["id"],
        user_id=row["user_id"],
        list_id=row["list_id"],
        name=row["name"],
        description=row["description"],
        conditions=row["conditions"],
        is_dynamic=row["is_dynamic"] is not False,
        cached_count=int(row["cached_count"] or 0),
        last_calculated_at=from_db_time(row["last_calculated_at"]),
        created_at=from_db_time(row["created_at"]) or datetime.now(UTC),
        updated_at=from_db_time(row["updated_at"]) or datetime.now(UTC),
    )


class SqlAlchemySegmentRepository:
    def __init__(self, target: AsyncEngine | Statements) -> None:
        self._db = statements_on(target)

    async def add(self, segment: NewSegment) -> Segment:
        values = {
            "user_id": segment.user_id,
            "list_id": segment.list_id,
            "name": segment.name,
            "description": segment.description,
            "conditions": segment.conditions,
            "is_dynamic": segment.is_dynamic,
        }
        async with self._db.write() as conn:
            row = (await conn.execute(insert(SEGMENTS).values(values).returning(SEGMENTS))).one()
        return _to_segment(row._mapping)

    def _mine(self, user_id: int, segment_id: int) -> list[Any]:
        return [SEGMENTS.c.id == segment_id, SEGMENTS.c.user_id == user_id]

    async def get(self, user_id: int, segment_id: int) -> Segment | None:
        async with self._db.read() as conn:
            row = await conn.execute(select(SEGMENTS).where(*self._mine(user_id, segment_id)))
            found = row.first()
        return None if found is None else _to_segment(found._mapping)

    async def list_for_user(self, user_id: int, *, limit: int, offset: int) -> Page[Segment]:
        mine = SEGMENTS.c.user_id == user_id
        async with self._db.read() as conn:
            total = await conn.scalar(select(func.count()).select_from(SEGMENTS).where(mine))
            rows = await conn.execute(
                select(SEGMENTS).where(mine).order_by(SEGMENTS.c.id).limit(limit).offset(offset)
            )
            items = [_to_segment(row._mapping) for row in rows]
        return Page(items=items, total=int(total or 0), limit=limit, offset=offset)

    async def update(
        self, user_id: int, segment_id: int, changes: SegmentChanges
    ) -> Segment | None:
        values: dict[str, Any] = {
            name: getattr(changes, name)
            for name in ("name", "description", "conditions", "is_dynamic", "list_id")
            if getattr(changes, name) is not None
        }
        if changes.clear_list:
            values["list_id"] = None
        values["updated_at"] = func.now()
        statement = (
            update(SEGMENTS)
            .where(*self._mine(user_id, segment_id))
            .values(values)
            .returning(SEGMENTS)
        )
        async with self._db.write() as conn:
            row = (await conn.execute(statement)).first()
        return None if row is None else _to_segment(row._mapping)

    async def delete(self, user_id: int, segment_id: int) -> bool:
        statement = (
            delete(SEGMENTS).where(*self._mine(user_id, segment_id)).returning(SEGMENTS.c.id)
        )
        async with self._db.write() as conn:
            return (await conn.execute(statement)).first() is not None

    async def record_count(
        self, user_id: int, segment_id: int, count: int, at: datetime
    ) -> Segment | None:
        statement = (
            update(SEGMENTS)
            .where(*self._mine(user_id, segment_id))
            .values(cached_count=count, last_calculated_at=to_db_time(at))
            .returning(SEGMENTS)
        )
        async with self._db.write() as conn:
            row = (await conn.execute(statement)).first()
        return None if row is None else _to_segment(row._mapping)


class SqlAlchemyAudienceQuery:
    def __init__(
        self, target: AsyncEngine | Statements, operators: Registry[SegmentOperator]
    ) -> None:
        self._db = statements_on(target)
        self._operators = operators

    async def list_exists(self, user_id: int, list_id: int) -> bool:
        statement = select(LISTS.c.id).where(LISTS.c.id == list_id, LISTS.c.user_id == user_id)
        async with self._db.read() as conn:
            return (await conn.execute(statement)).first() is not None

    async def count(self, user_id: int, conditions: Group, *, list_id: int | None) -> int:
        async with self._db.read() as conn:
            indexed = await plan_audience(conn)
            statement = count_statement(
                user_id, conditions, self._operators, list_id=list_id, indexed=indexed
            )
            total = await conn.scalar(statement)
        return int(total or 0)

    async def first_contacts(
        self, user_id: int, conditions: Group, *, list_id: int | None, limit: int
    ) -> list[ContactSummary]:
        columns = (c := CONTACTS.c).id, c.email, c.first_name, c.last_name, c.status
        async with self._db.read() as conn:
            indexed = await plan_audience(conn)
            where = audience_where(
                user_id, conditions, self._operators, list_id=list_id, indexed=indexed
            )
            statement = select(*columns).where(*where).order_by(CONTACTS.c.id).limit(limit)
            rows = await conn.execute(statement)
            return [
                ContactSummary(
                    id=row.id,
                    email=row.email,
                    first_name=row.first_name,
                    last_name=row.last_name,
                    status=row.status,
                )
                for row in rows
            ]
