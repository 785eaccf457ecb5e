"""`SqlAlchemyContactRepository`: the `contacts` table behind the ContactRepository port.

Addresses are matched on `lower(email)` (`idx_contacts_user_email_lower`, migration 024), which
also serves the prefix filter (its pattern operator class) and the batch upsert. Every change of
a status or a deletion recounts the lists of the contact in the same transaction
(`list_counts`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Table,
    Text,
    and_,
    any_,
    bindparam,
    exists,
    func,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy import delete as sql_delete
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openmailer.adapters.db.address_clash import execute_through_address_clashes
from openmailer.adapters.db.list_counts import (
    CONTACTS,
    LISTS,
    MEMBERSHIPS,
    recount,
    recount_lists_of,
)
from openmailer.adapters.db.tables.contacts import ContactStatusOverride
from openmailer.adapters.db.unit_of_work import Statements, statements_on
from openmailer.adapters.db.users import from_db_time, to_db_time
from openmailer.core.audience.model import (
    Contact,
    ContactChanges,
    ContactFilter,
    ContactSource,
    ContactStatus,
    NewContact,
    StatusOverride,
    UpsertedContact,
)
from openmailer.core.errors import Conflict

OVERRIDES = cast(Table, ContactStatusOverride.__table__)
LOWER_EMAIL: ColumnElement[str] = func.lower(CONTACTS.c.email)
# The ON CONFLICT target inferring idx_contacts_user_email_lower.
ADDRESS_KEY: list[Any] = [CONTACTS.c.user_id, text("(lower((email)::text))")]
TAGS_AFTER = text(
    "ARRAY(SELECT DISTINCT tag FROM unnest(array_cat("
    "coalesce(:replace_tags, contacts.tags, '{}'::text[]), :add_tags))"
    " AS tag WHERE NOT tag = ANY(:remove_tags) ORDER BY tag)"
).bindparams(
    bindparam("replace_tags", type_=ARRAY(Text)),
    bindparam("add_tags", type_=ARRAY(Text)),
    bindparam("remove_tags", type_=ARRAY(Text)),
)
TIME_COLUMNS = {"gdpr_consent_date", "confirmed_at", "unsubscribed_at", "confirmation_sent_at"}
WRITABLE = {
    "email",
    "first_name",
    "last_name",
    "status",
    "source",
    "custom_fields",
    "gdpr_consent",
    "gdpr_ip_address",
    "confirmation_token",
    "email_verified",
    *TIME_COLUMNS,
}


def to_contact(row: RowMapping) -> Contact:
    return Contact(
        id=row["id"],
        user_id=row["user_id"],
        email=row["email"],
        first_name=row["first_name"],
        last_name=row["last_name"],
        status=ContactStatus(row["status"]),
        email_verified=bool(row["email_verified"]),
        source=None if row["source"] is None else ContactSource(row["source"]),
        tags=tuple(row["tags"] or ()),
        custom_fields=dict(row["custom_fields"] or {}),
        gdpr_consent=bool(row["gdpr_consent"]),
        gdpr_consent_date=from_db_time(row["gdpr_consent_date"]),
        gdpr_ip_address=row["gdpr_ip_address"],
        confirmation_token=row["confirmation_token"],
        confirmation_sent_at=from_db_time(row["confirmation_sent_at"]),
        confirmed_at=from_db_time(row["confirmed_at"]),
        unsubscribed_at=from_db_time(row["unsubscribed_at"]),
        bounce_count=row["bounce_count"] or 0,
        complaint_count=row["complaint_count"] or 0,
        created_at=from_db_time(row["created_at"]) or datetime.now(UTC),
        updated_at=from_db_time(row["updated_at"]) or datetime.now(UTC),
    )


def row_values(contact: NewContact) -> dict[str, Any]:
    consent = contact.consent
    return {
        "email": contact.email,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "status": contact.status.value,
        "source": contact.source.value,
        "tags": list(contact.tags),
        "custom_fields": contact.custom_fields,
        "gdpr_consent": bool(consent and consent.given),
        "gdpr_consent_date": to_db_time(consent.date) if consent else None,
        "gdpr_ip_address": consent.ip_address if consent else None,
        "confirmation_token": contact.confirmation_token,
        "confirmed_at": to_db_time(contact.confirmed_at),
        "unsubscribed_at": to_db_time(contact.unsubscribed_at),
    }


def column_values(values: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(values) - WRITABLE
    if unknown:
        raise ValueError(f"not contact columns: {sorted(unknown)}")
    columns: dict[str, Any] = {}
    for name, value in values.items():
        if name in TIME_COLUMNS:
            value = to_db_time(value)
        elif isinstance(value, ContactStatus | ContactSource):
            value = value.value
        columns[name] = value
    return columns


def tags_after(changes: ContactChanges) -> ColumnElement[Any] | None:
    """The new tags in SQL, from the stored ones: adding or removing one tag never needs the
    whole array from the caller, and two such edits at once both take effect."""
    if changes.replace_tags is None and not changes.add_tags and not changes.remove_tags:
        return None
    # A replacement (when given) stands in for the stored tags; NULL means "keep them".
    expression = TAGS_AFTER.bindparams(
        bindparam(
            "replace_tags",
            None if changes.replace_tags is None else list(changes.replace_tags),
        ),
        bindparam("add_tags", list(changes.add_tags)),
        bindparam("remove_tags", list(changes.remove_tags)),
    )
    return cast(ColumnElement[Any], expression)


def email_taken(existing_id: int) -> Conflict:
    return Conflict(f"a contact with this address exists: id {existing_id}", code="contact_exists")


def prefix_range(prefix: str) -> tuple[str, str | None]:
    """`[prefix, next)` in code-point order, which the pattern operators and UTF-8 share."""
    lowered = prefix.lower()
    last = ord(lowered[-1])
    upper = None if last >= 0x10FFFF else lowered[:-1] + chr(last + 1)
    return lowered, upper


class SqlAlchemyContactRepository:
    def __init__(self, target: AsyncEngine | Statements) -> None:
        self._db = statements_on(target)

    async def add(self, user_id: int, contact: NewContact) -> Contact:
        statement = (
            insert(CONTACTS)
            .values(user_id=user_id, **row_values(contact))
            .on_conflict_do_nothing()
            .returning(CONTACTS)
        )
        async with self._db.write() as conn:
            row = (await conn.execute(statement)).first()
            if row is None:
                raise email_taken(await self._id_of(conn, user_id, contact.email))
        return to_contact(row._mapping)

    async def _id_of(self, conn: AsyncConnection, user_id: int, email: str) -> int:
        found = await conn.scalar(
            select(CONTACTS.c.id).where(
                CONTACTS.c.user_id == user_id, bindparam("email", email.lower()) == LOWER_EMAIL
            )
        )
        if found is None:  # the conflict was a (vanishingly unlikely) token collision
            raise Conflict("the contact could not be stored; try again", code="contact_conflict")
        return int(found)

    async def get(self, user_id: int, contact_id: int, *, lock: bool = False) -> Contact | None:
        query = select(CONTACTS).where(CONTACTS.c.id == contact_id, CONTACTS.c.user_id == user_id)
        if lock:
            query = query.with_for_update(key_share=True)
        async with self._db.read() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else to_contact(row._mapping)

    async def find_by_emails(
        self, user_id: int, emails: Sequence[str], *, lock: bool = False
    ) -> dict[str, Contact]:
        if not emails:
            return {}
        lowered = [email.lower() for email in emails]
        query = (
            select(CONTACTS)
            .where(
                CONTACTS.c.user_id == user_id,
                any_(bindparam("emails", lowered, type_=ARRAY(Text))) == LOWER_EMAIL,
            )
            .order_by(CONTACTS.c.id)
        )
        if lock:
            query = query.with_for_update(key_share=True)
        async with self._db.read() as conn:
            rows = await conn.execute(query)
            found = [to_contact(row._mapping) for row in rows]
        return {contact.email.lower(): contact for contact in found}

    async def find_by_confirmation_token(self, token: str) -> Contact | None:
        query = select(CONTACTS).where(CONTACTS.c.confirmation_token == token)
        async with self._db.read() as conn:
            row = (await conn.execute(query.with_for_update(key_share=True))).first()
        return None if row is None else to_contact(row._mapping)

    async def update(
        self, user_id: int, contact_id: int, changes: ContactChanges
    ) -> Contact | None:
        values = column_values(changes.values)
        tags = tags_after(changes)
        if tags is not None:
            values["tags"] = tags
        statement = (
            update(CONTACTS)
            .where(CONTACTS.c.id == contact_id, CONTACTS.c.user_id == user_id)
            .values({**values, "updated_at": func.timezone("UTC", func.now())})
            .returning(CONTACTS)
        )
        try:
            async with self._db.write() as conn:
                row = (await conn.execute(statement)).first()
                if row is not None and "status" in values:
                    await recount_lists_of(conn, [contact_id])
        except IntegrityError:
            async with self._db.read() as conn:
                raise email_taken(await self._id_of(conn, user_id, values["email"])) from None
        return None if row is None else to_contact(row._mapping)

    async def record_override(self, override: StatusOverride) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                OVERRIDES.insert().values(
                    contact_id=override.contact_id,
                    user_id=override.user_id,
                    from_status=override.from_status.value,
                    to_status=override.to_status.value,
                    reason=override.reason,
                    created_at=to_db_time(override.at),
                )
            )

    async def delete(self, user_id: int, contact_id: int) -> bool:
        owned = and_(CONTACTS.c.id == contact_id, CONTACTS.c.user_id == user_id)
        async with self._db.write() as conn:
            # Locked first: no membership can be added to it while its lists are read.
            found = await conn.scalar(select(CONTACTS.c.id).where(owned).with_for_update())
            if found is None:
                return False
            lists = [
                row.list_id
                for row in await conn.execute(
                    select(MEMBERSHIPS.c.list_id).where(
                        MEMBERSHIPS.c.contact_id == contact_id, MEMBERSHIPS.c.status == "ACTIVE"
                    )
                )
            ]
            await conn.execute(sql_delete(CONTACTS).where(owned))
            await recount(conn, lists)
        return True

    async def page(
        self, user_id: int, where: ContactFilter, *, after_id: int | None, limit: int
    ) -> list[Contact]:
        conditions: list[ColumnElement[bool]] = [CONTACTS.c.user_id == user_id]
        if after_id is not None:
            conditions.append(CONTACTS.c.id > after_id)
        if where.status is not None:
            conditions.append(CONTACTS.c.status == where.status.value)
        if where.tag is not None:
            conditions.append(CONTACTS.c.tags.contains([where.tag]))
        if where.email_prefix:
            lower, upper = prefix_range(where.email_prefix)
            conditions.append(LOWER_EMAIL.op("~>=~")(lower))
            if upper is not None:
                conditions.append(LOWER_EMAIL.op("~<~")(upper))
        if where.created_from is not None:
            conditions.append(CONTACTS.c.created_at >= to_db_time(where.created_from))
        if where.created_to is not None:
            conditions.append(CONTACTS.c.created_at < to_db_time(where.created_to))
        if where.list_id is not None:
            conditions.append(
                exists().where(
                    MEMBERSHIPS.c.contact_id == CONTACTS.c.id,
                    MEMBERSHIPS.c.list_id == where.list_id,
                    MEMBERSHIPS.c.status == "ACTIVE",
                    LISTS.c.id == MEMBERSHIPS.c.list_id,
                    LISTS.c.user_id == user_id,
                )
            )
        query = select(CONTACTS).where(*conditions).order_by(CONTACTS.c.id).limit(limit)
        async with self._db.read() as conn:
            return [to_contact(row._mapping) for row in await conn.execute(query)]

    async def upsert_many(
        self, user_id: int, contacts: Sequence[NewContact]
    ) -> list[UpsertedContact]:
        if not contacts:
            return []
        # One order for every batch, so two batches sharing addresses lock them alike.
        rows = [
            {"user_id": user_id, **row_values(contact)}
            for contact in sorted(contacts, key=lambda contact: contact.email.lower())
        ]
        inserting = insert(CONTACTS).values(rows)
        kept = {"email", "user_id"}
        statement = inserting.on_conflict_do_update(
            index_elements=ADDRESS_KEY,
            set_={
                **{name: inserting.excluded[name] for name in rows[0] if name not in kept},
                "updated_at": func.timezone("UTC", func.now()),
            },
        ).returning(
            CONTACTS.c.id,
            CONTACTS.c.email,
            literal_column("(xmax = 0)").label("created"),
        )
        async with self._db.write() as conn:
            written = (await execute_through_address_clashes(conn, statement)).all()
            await recount_lists_of(conn, [row.id for row in written])
        return [UpsertedContact(row.id, row.email, bool(row.created)) for row in written]
