"""The GDPR export of one contact: one JSON document, written as it is read.

Every table is read through a server-side cursor in batches of `BATCH` rows inside one
REPEATABLE READ, read-only transaction, so the document is one consistent snapshot and a contact
with a huge history never sits whole in memory. The rows are those `contact_erasure` erases.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openmailer.adapters.db.contact_erasure import (
    CLICKS,
    EMAIL_LOGS,
    OUTBOX,
    OVERRIDES,
    RECIPIENTS,
    WEBHOOK_EVENTS,
    events_of,
    logs_of,
    outbox_of,
    recipients_of,
)
from openmailer.adapters.db.list_counts import CONTACTS, LISTS, MEMBERSHIPS

BATCH = 500
# A credential, not data about the person.
NOT_EXPORTED = {"confirmation_token"}


def _plain(value: Any) -> Any:
    return str(value)  # addresses (INET), and whatever else JSON has no type for


def _encode(row: Any) -> bytes:
    values = {
        name: value.replace(tzinfo=UTC) if isinstance(value, datetime) else value
        for name, value in row._mapping.items()
        if name not in NOT_EXPORTED
    }
    return msgspec.json.encode(values, enc_hook=_plain)


def sections(user_id: int, contact_id: int, address: str) -> list[tuple[str, Select[Any]]]:
    return [
        (
            "memberships",
            select(MEMBERSHIPS, LISTS.c.name.label("list_name"))
            .join(LISTS, LISTS.c.id == MEMBERSHIPS.c.list_id)
            .where(MEMBERSHIPS.c.contact_id == contact_id)
            .order_by(MEMBERSHIPS.c.id),
        ),
        (
            "campaign_recipients",
            select(RECIPIENTS)
            .where(RECIPIENTS.c.contact_id == contact_id)
            .order_by(RECIPIENTS.c.id),
        ),
        (
            "campaign_clicks",
            select(CLICKS)
            .where(CLICKS.c.recipient_id.in_(recipients_of(contact_id)))
            .order_by(CLICKS.c.id),
        ),
        (
            "email_logs",
            select(EMAIL_LOGS)
            .where(logs_of(user_id, contact_id, address))
            .order_by(EMAIL_LOGS.c.id),
        ),
        (
            "webhook_events",
            select(WEBHOOK_EVENTS).where(events_of(user_id, address)).order_by(WEBHOOK_EVENTS.c.id),
        ),
        (
            "outbox_messages",
            select(*(column for column in OUTBOX.c if column.name != "raw_message"))
            .where(outbox_of(user_id, address))
            .order_by(OUTBOX.c.id),
        ),
        (
            "status_overrides",
            select(OVERRIDES).where(OVERRIDES.c.contact_id == contact_id).order_by(OVERRIDES.c.id),
        ),
    ]


async def _document(conn: AsyncConnection, user_id: int, contact: Any) -> AsyncIterator[bytes]:
    try:
        yield b'{"contact":' + _encode(contact)
        for name, query in sections(user_id, contact.id, contact.email.lower()):
            yield b',"' + name.encode() + b'":['
            separator = b""
            result = await conn.stream(query.execution_options(yield_per=BATCH))
            async for rows in result.partitions(BATCH):
                yield separator + b",".join(_encode(row) for row in rows)
                separator = b","
            yield b"]"
        yield b"}"
    finally:
        await conn.close()


class SqlAlchemyContactExports:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def open(self, user_id: int, contact_id: int) -> AsyncIterator[bytes] | None:
        conn = await self._engine.connect()
        try:
            await conn.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
            await conn.begin()
            contact = (
                await conn.execute(
                    select(CONTACTS).where(
                        CONTACTS.c.id == contact_id, CONTACTS.c.user_id == user_id
                    )
                )
            ).first()
        except BaseException:
            await conn.close()
            raise
        if contact is None:
            await conn.close()
            return None
        return _document(conn, user_id, contact)
