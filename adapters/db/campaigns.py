"""`SqlAlchemyCampaignRepository` (the `email_campaigns` table; tenancy by `created_by`) and
`SqlAlchemyCampaignTemplates` (the campaigns area's narrow read of `email_templates`).

An archived campaign (`email_campaigns_archive`, adapters/db/campaign_archive.py) is still
found, with its `archived_at`: while the archive job removes its rows the live row is read,
afterwards the archive row. Updates, deletes and moves touch live rows only."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, any_, bindparam, delete, exists, func, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.types import String

from openmailer.adapters.db.tables.campaigns import (
    EmailCampaign,
    EmailCampaignArchive,
    EmailTemplate,
)
from openmailer.adapters.db.unit_of_work import Statements, statements_on
from openmailer.adapters.db.users import from_db_time, to_db_time
from openmailer.core.campaigns.lifecycle import CampaignStatus
from openmailer.core.campaigns.model import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_SEND_SPEED,
    Campaign,
    CampaignSettings,
    CampaignStats,
    TemplateSnapshot,
)
from openmailer.core.pages import Page

CAMPAIGNS = cast(Table, EmailCampaign.__table__)
ARCHIVE = cast(Table, EmailCampaignArchive.__table__)
TEMPLATES = cast(Table, EmailTemplate.__table__)
SETTINGS = tuple(CampaignSettings.__dataclass_fields__)
# Columns the spec gives a default but leaves nullable: NULL reads as the default.
_DEFAULTS: dict[str, Any] = {
    "track_opens": True,
    "track_clicks": True,
    "retry_failed": True,
    "send_speed": DEFAULT_SEND_SPEED,
    "max_retries": DEFAULT_MAX_RETRIES,
}


def _setting(row: RowMapping, name: str) -> Any:
    value = row[name]
    return _DEFAULTS.get(name) if value is None else value


def to_campaign(row: RowMapping) -> Campaign:
    return Campaign(
        id=row["id"],
        user_id=row["created_by"],
        status=CampaignStatus(row["status"]),
        settings=CampaignSettings(**{name: _setting(row, name) for name in SETTINGS}),
        scheduled_at=from_db_time(row["scheduled_at"]),
        sent_at=from_db_time(row["sent_at"]),
        total_recipients=int(row["total_recipients"] or 0),
        sent_count=int(row["sent_count"] or 0),
        failed_count=int(row["failed_count"] or 0),
        template_version=row["template_version"],
        created_at=from_db_time(row["created_at"]) or datetime.now(UTC),
        updated_at=from_db_time(row["updated_at"]) or datetime.now(UTC),
        stats=CampaignStats(
            open_rate=float(row["open_rate"] or 0),
            click_rate=float(row["click_rate"] or 0),
            bounce_rate=float(row["bounce_rate"] or 0),
            unsubscribe_count=int(row["unsubscribe_count"] or 0),
            complaint_count=int(row["complaint_count"] or 0),
            bounce_count=int(row["bounce_count"] or 0),
            pause_reason=row["pause_reason"],
        ),
        outbox_only=bool(row.get("outbox_only")),
        archived_at=from_db_time(row.get("archived_at")),
    )


def _statuses(states: frozenset[CampaignStatus]) -> Any:
    return any_(bindparam(None, sorted(s.value for s in states), type_=ARRAY(String)))


class SqlAlchemyCampaignRepository:
    def __init__(self, target: AsyncEngine | Statements) -> None:
        self._db = statements_on(target)

    def _mine(self, user_id: int, campaign_id: int) -> list[Any]:
        return [CAMPAIGNS.c.id == campaign_id, CAMPAIGNS.c.created_by == user_id]

    async def add(self, user_id: int, settings: CampaignSettings) -> Campaign:
        values = {name: getattr(settings, name) for name in SETTINGS}
        statement = insert(CAMPAIGNS).values(created_by=user_id, **values).returning(CAMPAIGNS)
        async with self._db.write() as conn:
            row = (await conn.execute(statement)).one()
        return to_campaign(row._mapping)

    async def get(self, user_id: int, campaign_id: int) -> Campaign | None:
        live = (
            select(CAMPAIGNS, ARCHIVE.c.archived_at)
            .select_from(CAMPAIGNS.outerjoin(ARCHIVE, ARCHIVE.c.id == CAMPAIGNS.c.id))
            .where(*self._mine(user_id, campaign_id))
        )
        archived = select(ARCHIVE).where(
            ARCHIVE.c.id == campaign_id, ARCHIVE.c.created_by == user_id
        )
        async with self._db.read() as conn:
            found = (await conn.execute(live)).first() or (await conn.execute(archived)).first()
        return None if found is None else to_campaign(found._mapping)

    async def list_for_user(
        self,
        user_id: int,
        *,
        status: CampaignStatus | None,
        limit: int,
        offset: int,
        archived: bool = False,
    ) -> Page[Campaign]:
        table = ARCHIVE if archived else CAMPAIGNS
        where = [table.c.created_by == user_id]
        if status is not None:
            where.append(table.c.status == status.value)
        if not archived:  # one being archived is listed once, with the archived
            where.append(~exists().where(ARCHIVE.c.id == CAMPAIGNS.c.id))
        async with self._db.read() as conn:
            total = await conn.scalar(select(func.count()).select_from(table).where(*where))
            rows = await conn.execute(
                select(table).where(*where).order_by(table.c.id.desc()).limit(limit).offset(offset)
            )
            items = [to_campaign(row._mapping) for row in rows]
        return Page(items=items, total=int(total or 0), limit=limit, offset=offset)

    async def update(
        self,
        user_id: int,
        campaign_id: int,
        changes: Mapping[str, Any],
        *,
        when: frozenset[CampaignStatus],
    ) -> Campaign | None:
        values = {name: value for name, value in changes.items() if name in SETTINGS}
        statement = (
            update(CAMPAIGNS)
            .where(*self._mine(user_id, campaign_id), CAMPAIGNS.c.status == _statuses(when))
            .values(**values, updated_at=func.now())
            .returning(CAMPAIGNS)
        )
        async with self._db.write() as conn:
            row = (await conn.execute(statement)).first()
        return None if row is None else to_campaign(row._mapping)

    async def delete(
        self, user_id: int, campaign_id: int, *, when: frozenset[CampaignStatus]
    ) -> bool:
        statement = (
            delete(CAMPAIGNS)
            .where(*self._mine(user_id, campaign_id), CAMPAIGNS.c.status == _statuses(when))
            .returning(CAMPAIGNS.c.id)
        )
        async with self._db.write() as conn:
            return (await conn.execute(statement)).first() is not None

    async def move(
        self,
        user_id: int,
        campaign_id: int,
        *,
        sources: frozenset[CampaignStatus],
        target: CampaignStatus,
        scheduled_at: datetime | None = None,
        clear_schedule: bool = False,
    ) -> Campaign | None:
        values: dict[str, Any] = {"status": target.value, "updated_at": func.now()}
        if scheduled_at is not None:
            values["scheduled_at"] = to_db_time(scheduled_at)
        if clear_schedule:
            values["scheduled_at"] = None
        if target is CampaignStatus.SENDING:
            values["pause_reason"] = None  # resumed: an automatic pause's reason is over
        statement = (
            update(CAMPAIGNS)
            .where(*self._mine(user_id, campaign_id), CAMPAIGNS.c.status == _statuses(sources))
            .values(values)
            .returning(CAMPAIGNS)
        )
        async with self._db.write() as conn:
            row = (await conn.execute(statement)).first()
        return None if row is None else to_campaign(row._mapping)


class SqlAlchemyCampaignTemplates:
    """Reads `email_templates` for the campaigns area only (the templates area owns writes)."""

    def __init__(self, target: AsyncEngine | Statements) -> None:
        self._db = statements_on(target)

    async def get(self, user_id: int, template_id: int) -> TemplateSnapshot | None:
        t = TEMPLATES.c
        statement = select(
            t.id, t.version, t.is_active, t.subject, t.body, t.is_html, t.preview_text
        ).where(t.id == template_id, t.created_by == user_id)
        async with self._db.read() as conn:
            row = (await conn.execute(statement)).first()
        if row is None:
            return None
        return TemplateSnapshot(
            id=row.id,
            version=int(row.version or 1),
            is_active=row.is_active is not False,
            subject=row.subject,
            body=row.body,
            is_html=row.is_html is not False,
            preview_text=row.preview_text,
        )
