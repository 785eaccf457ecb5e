"""`SqlAlchemyTemplateRepository`: `email_templates` (the spec's row, mirroring the current
version) and `email_template_versions` (migration 028)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, and_, delete, func, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openmailer.adapters.db.tables.campaigns import EmailTemplate, EmailTemplateVersion
from openmailer.adapters.db.unit_of_work import Statements, statements_on
from openmailer.adapters.db.users import from_db_time
from openmailer.core.errors import Conflict
from openmailer.core.pages import Page
from openmailer.core.ports.templates import TemplateDeletion
from openmailer.core.templates.model import (
    NewTemplate,
    Template,
    TemplateContent,
    TemplateRevision,
    TemplateSettings,
    TemplateVersion,
    main_body,
)

TEMPLATES = cast(Table, EmailTemplate.__table__)
VERSIONS = cast(Table, EmailTemplateVersion.__table__)
NAME_UNIQUE = "uq_email_templates_created_by_name"
# The template row with its current version's content beside it.
CURRENT = TEMPLATES.outerjoin(
    VERSIONS,
    and_(VERSIONS.c.template_id == TEMPLATES.c.id, VERSIONS.c.version == TEMPLATES.c.version),
)
TEMPLATE_COLUMNS = (
    *TEMPLATES.c,
    VERSIONS.c.html.label("version_html"),
    VERSIONS.c.text.label("version_text"),
)


def _moment(value: datetime | None) -> datetime:
    return from_db_time(value) or datetime.now(UTC)


def _to_template(row: RowMapping) -> Template:
    is_html = row["is_html"] is not False
    html, text = row["version_html"], row["version_text"]
    if html is None and text is None:  # a row without its version: the spec's body is all
        html, text = (row["body"], None) if is_html else (None, row["body"])
    return Template(
        id=row["id"],
        user_id=row["created_by"],
        name=row["name"],
        description=row["description"],
        template_type=row["template_type"] or "CUSTOM",
        is_html=is_html,
        is_active=row["is_active"] is not False,
        version=int(row["version"] or 1),
        content=TemplateContent(
            subject=row["subject"], html=html, text=text, preview_text=row["preview_text"]
        ),
        created_at=_moment(row["created_at"]),
        updated_at=_moment(row["updated_at"]),
    )


def _to_version(row: RowMapping) -> TemplateVersion:
    return TemplateVersion(
        template_id=row["template_id"],
        version=row["version"],
        content=TemplateContent(
            subject=row["subject"],
            html=row["html"],
            text=row["text"],
            preview_text=row["preview_text"],
        ),
        created_at=_moment(row["created_at"]),
        created_by=row["created_by"],
    )


def _settings_values(settings: TemplateSettings) -> dict[str, Any]:
    return {
        "name": settings.name,
        "description": settings.description,
        "template_type": settings.template_type,
        "is_html": settings.is_html,
        "is_active": settings.is_active,
    }


def _content_values(content: TemplateContent, *, is_html: bool) -> dict[str, Any]:
    return {
        "subject": content.subject,
        "body": main_body(content, is_html=is_html),
        "preview_text": content.preview_text,
    }


def _version_values(
    template_id: int, version: int, content: TemplateContent, created_by: int
) -> dict[str, Any]:
    return {
        "template_id": template_id,
        "version": version,
        "subject": content.subject,
        "html": content.html,
        "text": content.text,
        "preview_text": content.preview_text,
        "created_by": created_by,
    }


def _is_name_taken(error: IntegrityError) -> bool:
    return NAME_UNIQUE in str(error.orig)


class SqlAlchemyTemplateRepository:
    def __init__(self, target: AsyncEngine | Statements) -> None:
        self._db = statements_on(target)

    def _mine(self, user_id: int, template_id: int) -> list[Any]:
        return [TEMPLATES.c.id == template_id, TEMPLATES.c.created_by == user_id]

    async def _name_taken(self, user_id: int, name: str) -> Conflict:
        async with self._db.read() as conn:
            existing = await conn.scalar(
                select(TEMPLATES.c.id).where(
                    TEMPLATES.c.created_by == user_id, TEMPLATES.c.name == name
                )
            )
        return Conflict(
            f"a template named {name!r} exists: id {existing}", code="template_name_taken"
        )

    async def add(self, template: NewTemplate) -> Template:
        settings, content = template.settings, template.content
        values = {
            "created_by": template.user_id,
            "version": 1,
            **_settings_values(settings),
            **_content_values(content, is_html=settings.is_html),
        }
        try:
            async with self._db.write() as conn:
                inserted = await conn.execute(
                    insert(TEMPLATES).values(values).returning(TEMPLATES.c.id)
                )
                template_id = int(inserted.scalar_one())
                await conn.execute(
                    insert(VERSIONS).values(
                        _version_values(template_id, 1, content, template.user_id)
                    )
                )
                return await self._current(conn, template.user_id, template_id)
        except IntegrityError as error:
            if not _is_name_taken(error):
                raise
            raise await self._name_taken(template.user_id, settings.name) from None

    async def _current(
        self, conn: AsyncConnection, user_id: int, template_id: int, *, lock: bool = False
    ) -> Template:
        found = await self._find(conn, user_id, template_id, lock=lock)
        if found is None:
            raise LookupError(template_id)
        return found

    async def _find(
        self, conn: AsyncConnection, user_id: int, template_id: int, *, lock: bool = False
    ) -> Template | None:
        statement = select(*TEMPLATE_COLUMNS).select_from(CURRENT)
        statement = statement.where(*self._mine(user_id, template_id))
        if lock:
            statement = statement.with_for_update(of=TEMPLATES)
        row = (await conn.execute(statement)).first()
        return None if row is None else _to_template(row._mapping)

    async def get(self, user_id: int, template_id: int) -> Template | None:
        async with self._db.read() as conn:
            return await self._find(conn, user_id, template_id)

    async def list_for_user(self, user_id: int, *, limit: int, offset: int) -> Page[Template]:
        mine = TEMPLATES.c.created_by == user_id
        async with self._db.read() as conn:
            total = await conn.scalar(select(func.count()).select_from(TEMPLATES).where(mine))
            rows = await conn.execute(
                select(*TEMPLATE_COLUMNS)
                .select_from(CURRENT)
                .where(mine)
                .order_by(TEMPLATES.c.id)
                .limit(limit)
                .offset(offset)
            )
            items = [_to_template(row._mapping) for row in rows]
        return Page(items=items, total=int(total or 0), limit=limit, offset=offset)

    async def revise(
        self,
        user_id: int,
        template_id: int,
        revision_of: Callable[[Template], TemplateRevision],
        *,
        edited_by: int,
    ) -> Template | None:
        name = ""
        try:
            async with self._db.write() as conn:
                # FOR UPDATE: a concurrent edit waits here and then reads this one's version.
                current = await self._find(conn, user_id, template_id, lock=True)
                if current is None:
                    return None
                revision = revision_of(current)
                settings, content = revision.settings, revision.content
                name = settings.name
                values: dict[str, Any] = {**_settings_values(settings), "updated_at": func.now()}
                if content is not None:
                    version = current.version + 1
                    values |= {"version": version}
                    values |= _content_values(content, is_html=settings.is_html)
                    await conn.execute(
                        insert(VERSIONS).values(
                            _version_values(template_id, version, content, edited_by)
                        )
                    )
                else:
                    values["body"] = main_body(current.content, is_html=settings.is_html)
                await conn.execute(
                    update(TEMPLATES).where(*self._mine(user_id, template_id)).values(values)
                )
                return await self._current(conn, user_id, template_id)
        except IntegrityError as error:
            if not _is_name_taken(error):
                raise
            raise await self._name_taken(user_id, name) from None

    async def delete(self, user_id: int, template_id: int) -> TemplateDeletion:
        statement = (
            delete(TEMPLATES).where(*self._mine(user_id, template_id)).returning(TEMPLATES.c.id)
        )
        try:
            async with self._db.write() as conn:
                deleted = (await conn.execute(statement)).first() is not None
        except IntegrityError:
            # Only email_campaigns.template_id (RESTRICT) can refuse the delete.
            return TemplateDeletion.IN_USE
        return TemplateDeletion.DELETED if deleted else TemplateDeletion.ABSENT

    async def versions(
        self, user_id: int, template_id: int, *, limit: int, offset: int
    ) -> Page[TemplateVersion] | None:
        of_template = VERSIONS.c.template_id == template_id
        async with self._db.read() as conn:
            owned = await conn.scalar(
                select(TEMPLATES.c.id).where(*self._mine(user_id, template_id))
            )
            if owned is None:
                return None
            total = await conn.scalar(select(func.count()).select_from(VERSIONS).where(of_template))
            rows = await conn.execute(
                select(VERSIONS)
                .where(of_template)
                .order_by(VERSIONS.c.version.desc())
                .limit(limit)
                .offset(offset)
            )
            items = [_to_version(row._mapping) for row in rows]
        return Page(items=items, total=int(total or 0), limit=limit, offset=offset)

    async def version(self, user_id: int, template_id: int, version: int) -> TemplateVersion | None:
        statement = (
            select(VERSIONS)
            .join(TEMPLATES, TEMPLATES.c.id == VERSIONS.c.template_id)
            .where(*self._mine(user_id, template_id), VERSIONS.c.version == version)
        )
        async with self._db.read() as conn:
            row = (await conn.execute(statement)).first()
        return None if row is None else _to_version(row._mapping)
