"""`SqlAlchemyContactListRepository`: `contact_lists` and `contact_list_memberships`.

Members are added in three statements whatever their number: the caller's contacts among the
named ids and addresses (locked FOR SHARE, see `list_counts`), one INSERT … ON CONFLICT that
creates or re-activates their memberships, and the list's recount.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Text, any_, bindparam, func, literal, or_, select, update
from sqlalchemy import delete as sql_delete
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openmailer.adapters.db.contacts import LOWER_EMAIL, to_contact
from openmailer.adapters.db.list_counts import CONTACTS, LISTS, MEMBERSHIPS, id_array, recount
from openmailer.adapters.db.unit_of_work import Statements, statements_on
from openmailer.adapters.db.users import from_db_time
from openmailer.core.audience.model import ContactList, Member, MembersAdded, MembershipStatus
from openmailer.core.errors import Conflict
from openmailer.core.pages import Page

NOW = func.timezone("UTC", func.now())


def to_list(row: RowMapping) -> ContactList:
    return ContactList(
        id=row["id"],
        user_id=row["user_id"],
        name=row["name"],
        description=row["description"],
        double_opt_in_enabled=row["double_opt_in_enabled"] is not False,
        total_contacts=row["total_contacts"] or 0,
        active_contacts=row["active_contacts"] or 0,
        created_at=from_db_time(row["created_at"]) or datetime.now(UTC),
        updated_at=from_db_time(row["updated_at"]) or datetime.now(UTC),
    )


class SqlAlchemyContactListRepository:
    def __init__(self, target: AsyncEngine | Statements) -> None:
        self._db = statements_on(target)

    async def add(
        self, user_id: int, name: str, description: str | None, double_opt_in: bool
    ) -> ContactList:
        statement = (
            insert(LISTS)
            .values(
                user_id=user_id,
                name=name,
                description=description,
                double_opt_in_enabled=double_opt_in,
            )
            .on_conflict_do_nothing(constraint="unique_list_name_per_user")
            .returning(LISTS)
        )
        async with self._db.write() as conn:
            row = (await conn.execute(statement)).first()
            if row is None:
                raise await self._name_taken(conn, user_id, name)
        return to_list(row._mapping)

    async def _name_taken(self, conn: AsyncConnection, user_id: int, name: str) -> Conflict:
        existing = await conn.scalar(
            select(LISTS.c.id).where(LISTS.c.user_id == user_id, LISTS.c.name == name)
        )
        return Conflict(f"a list named {name!r} exists: id {existing}", code="list_name_taken")

    async def get(self, user_id: int, list_id: int) -> ContactList | None:
        query = select(LISTS).where(LISTS.c.id == list_id, LISTS.c.user_id == user_id)
        async with self._db.read() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else to_list(row._mapping)

    async def page(self, user_id: int, *, limit: int, offset: int) -> Page[ContactList]:
        owned = LISTS.c.user_id == user_id
        async with self._db.read() as conn:
            total = await conn.scalar(select(func.count()).select_from(LISTS).where(owned))
            rows = await conn.execute(
                select(LISTS).where(owned).order_by(LISTS.c.id).limit(limit).offset(offset)
            )
            items = [to_list(row._mapping) for row in rows]
        return Page(items=items, total=int(total or 0), limit=limit, offset=offset)

    async def update(
        self, user_id: int, list_id: int, values: Mapping[str, object]
    ) -> ContactList | None:
        statement = (
            update(LISTS)
            .where(LISTS.c.id == list_id, LISTS.c.user_id == user_id)
            .values({**values, "updated_at": NOW})
            .returning(LISTS)
        )
        try:
            async with self._db.write() as conn:
                row = (await conn.execute(statement)).first()
        except IntegrityError:
            async with self._db.read() as conn:
                raise await self._name_taken(conn, user_id, str(values["name"])) from None
        return None if row is None else to_list(row._mapping)

    async def delete(self, user_id: int, list_id: int) -> bool:
        statement = (
            sql_delete(LISTS)
            .where(LISTS.c.id == list_id, LISTS.c.user_id == user_id)
            .returning(LISTS.c.id)
        )
        async with self._db.write() as conn:
            return (await conn.execute(statement)).first() is not None

    async def add_members(
        self, user_id: int, list_id: int, *, contact_ids: Sequence[int], emails: Sequence[str]
    ) -> MembersAdded | None:
        async with self._db.write() as conn:
            owned = await conn.scalar(
                select(LISTS.c.id).where(LISTS.c.id == list_id, LISTS.c.user_id == user_id)
            )
            if owned is None:
                return None
            named = or_(
                CONTACTS.c.id == any_(id_array(contact_ids)),
                any_(bindparam("emails", list(emails), type_=ARRAY(Text))) == LOWER_EMAIL,
            )
            found = (
                await conn.execute(
                    select(CONTACTS.c.id, LOWER_EMAIL.label("address"))
                    .where(CONTACTS.c.user_id == user_id, named)
                    .order_by(CONTACTS.c.id)
                    .with_for_update(read=True)
                )
            ).all()
            found_ids = [row.id for row in found]
            added = await self._activate(conn, list_id, found_ids) if found_ids else []
            await recount(conn, [list_id])
        ids = set(found_ids)
        addresses = {row.address for row in found}
        return MembersAdded(
            added=sorted(added),
            already=sorted(ids - set(added)),
            not_found_ids=[contact_id for contact_id in contact_ids if contact_id not in ids],
            not_found_emails=[email for email in emails if email not in addresses],
        )

    async def _activate(
        self, conn: AsyncConnection, list_id: int, contact_ids: list[int]
    ) -> list[int]:
        """New memberships, and REMOVED ones made ACTIVE again; the ids whose membership
        changed (ACTIVE ones are left as they are)."""
        rows = select(
            func.unnest(id_array(contact_ids)),
            literal(list_id),
            literal("ACTIVE"),
            NOW,
        )
        inserting = insert(MEMBERSHIPS).from_select(
            ["contact_id", "list_id", "status", "subscribed_at"], rows
        )
        statement = inserting.on_conflict_do_update(
            constraint="unique_contact_list_membership",
            set_={"status": "ACTIVE", "subscribed_at": NOW, "unsubscribed_at": None},
            where=MEMBERSHIPS.c.status != "ACTIVE",
        ).returning(MEMBERSHIPS.c.contact_id)
        return [row.contact_id for row in await conn.execute(statement)]

    async def remove_member(self, user_id: int, list_id: int, contact_id: int) -> bool:
        statement = (
            update(MEMBERSHIPS)
            .where(
                MEMBERSHIPS.c.list_id == list_id,
                MEMBERSHIPS.c.contact_id == contact_id,
                MEMBERSHIPS.c.status == "ACTIVE",
                MEMBERSHIPS.c.list_id == LISTS.c.id,
                LISTS.c.user_id == user_id,
            )
            .values(status="REMOVED", unsubscribed_at=NOW)
            .returning(MEMBERSHIPS.c.id)
        )
        async with self._db.write() as conn:
            removed = (await conn.execute(statement)).first() is not None
            if removed:
                await recount(conn, [list_id])
        return removed

    async def members(
        self,
        user_id: int,
        list_id: int,
        *,
        status: MembershipStatus | None,
        after_id: int | None,
        limit: int,
    ) -> list[Member]:
        conditions: list[Any] = [
            MEMBERSHIPS.c.list_id == list_id,
            CONTACTS.c.user_id == user_id,
        ]
        if status is not None:
            conditions.append(MEMBERSHIPS.c.status == status.value)
        if after_id is not None:
            conditions.append(MEMBERSHIPS.c.contact_id > after_id)
        query = (
            select(
                CONTACTS,
                MEMBERSHIPS.c.status.label("membership_status"),
                MEMBERSHIPS.c.subscribed_at.label("membership_subscribed_at"),
                MEMBERSHIPS.c.unsubscribed_at.label("membership_unsubscribed_at"),
            )
            .select_from(MEMBERSHIPS.join(CONTACTS, CONTACTS.c.id == MEMBERSHIPS.c.contact_id))
            .where(*conditions)
            .order_by(MEMBERSHIPS.c.contact_id)
            .limit(limit)
        )
        async with self._db.read() as conn:
            rows = await conn.execute(query)
            return [
                Member(
                    contact=to_contact(row._mapping),
                    list_id=list_id,
                    status=MembershipStatus(row.membership_status or "ACTIVE"),
                    subscribed_at=from_db_time(row.membership_subscribed_at),
                    unsubscribed_at=from_db_time(row.membership_unsubscribed_at),
                )
                for row in rows
            ]
