"""GDPR erasure and export of one contact on PostgreSQL (the ContactErasures/ContactExports ports).

Where a contact's personal data is held (spec tables and migrations 023-025):
- `contacts` (the row), and through its foreign keys `contact_list_memberships`,
  `campaign_recipients`, `campaign_clicks` (IP, user agent; via the recipients) and
  `contact_status_overrides`: deleted with the row (ON DELETE CASCADE).
- `email_logs`: by `recipient_id` (the contact's recipients) or by `recipient_email` within the
  user; the address, subject and error message are scrubbed, the row (type, status, times) stays
  for the campaign's statistics.
- `webhook_events` of the user whose payload names the address (a case-insensitive match with
  address boundaries, so `ann@x.org` does not match `joann@x.org`): the payload becomes
  `{"erased": true}`, the event stays.
- `outbox_messages` to the address: deleted (the raw message is the person's mail).

The campaigns' counters (`total_recipients`, `sent_count`, ...) are anonymous facts of sends
that happened and stay; the lists' counters are recounted in the same transaction.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    LargeBinary,
    Table,
    Text,
    and_,
    any_,
    bindparam,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy import (
    cast as sql_cast,
)
from sqlalchemy import delete as sql_delete
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openmailer.adapters.crypto.secret_box import AesGcmSecretBox
from openmailer.adapters.db.installation_keys import InstallationKey
from openmailer.adapters.db.list_counts import CONTACTS, MEMBERSHIPS, lists_of, recount
from openmailer.adapters.db.tables.campaigns import CampaignClick, CampaignRecipient
from openmailer.adapters.db.tables.contacts import (
    ContactStatusOverride,
    ErasedContact,
    ErasureKey,
)
from openmailer.adapters.db.tables.sending import EmailLog, OutboxMessageRow, WebhookEvent
from openmailer.adapters.db.unit_of_work import Statements, statements_on
from openmailer.adapters.db.users import to_db_time

RECIPIENTS = cast(Table, CampaignRecipient.__table__)
CLICKS = cast(Table, CampaignClick.__table__)
OVERRIDES = cast(Table, ContactStatusOverride.__table__)
EMAIL_LOGS = cast(Table, EmailLog.__table__)
WEBHOOK_EVENTS = cast(Table, WebhookEvent.__table__)
OUTBOX = cast(Table, OutboxMessageRow.__table__)
TOMBSTONES = cast(Table, ErasedContact.__table__)
ERASURE_KEYS = cast(Table, ErasureKey.__table__)
ERASED_ADDRESS = "erased"
ERASED_PAYLOAD = {"erased": True}


def address_pattern(address: str) -> str:
    """A PostgreSQL regular expression for the address as a whole token (used with `~*`):
    not preceded by a character an address may hold, not followed by one of its domain's."""
    escaped = "".join(char if char.isalnum() else "\\" + char for char in address)
    return rf"(?<![[:alnum:]._%+-]){escaped}(?![[:alnum:]_-])(?!\.[[:alnum:]])"


def payload_names(address: str) -> ColumnElement[bool]:
    return sql_cast(WEBHOOK_EVENTS.c.payload, Text).op("~*")(
        bindparam("address_pattern", address_pattern(address))
    )


def recipients_of(contact_id: int) -> Any:
    return select(RECIPIENTS.c.id).where(RECIPIENTS.c.contact_id == contact_id)


def logs_of(user_id: int, contact_id: int, address: str) -> ColumnElement[bool]:
    return or_(
        EMAIL_LOGS.c.recipient_id.in_(recipients_of(contact_id)),
        and_(
            EMAIL_LOGS.c.user_id == user_id,
            func.lower(EMAIL_LOGS.c.recipient_email) == address,
        ),
    )


def events_of(user_id: int, address: str) -> ColumnElement[bool]:
    return and_(WEBHOOK_EVENTS.c.user_id == user_id, payload_names(address))


def outbox_of(user_id: int, address: str) -> ColumnElement[bool]:
    return and_(OUTBOX.c.user_id == user_id, func.lower(OUTBOX.c.recipient_email) == address)


def tombstone_key(box: AesGcmSecretBox) -> InstallationKey:
    """The installation's random HMAC key for tombstones, created on the first erasure."""
    return InstallationKey(box, ERASURE_KEYS)


def digest(key: bytes, address: str) -> bytes:
    return hmac.new(key, address.lower().encode(), hashlib.sha256).digest()


async def count(conn: AsyncConnection, table: Table, where: ColumnElement[bool]) -> int:
    return int(await conn.scalar(select(func.count()).select_from(table).where(where)) or 0)


class SqlAlchemyContactErasures:
    def __init__(self, target: AsyncEngine | Statements, box: AesGcmSecretBox) -> None:
        self._db = statements_on(target)
        self._key = tombstone_key(box)

    async def erased_among(self, user_id: int, emails: Sequence[str]) -> set[str]:
        if not emails:
            return set()
        async with self._db.read() as conn:
            # Most users never erased anyone: no key is needed to say so.
            if not await conn.scalar(select(exists().where(TOMBSTONES.c.user_id == user_id))):
                return set()
            key = await self._key.get(conn, create=False)
            if key is None:
                return set()
            by_hash = {digest(key, email): email.lower() for email in emails}
            found = await conn.scalars(
                select(TOMBSTONES.c.address_hash).where(
                    TOMBSTONES.c.user_id == user_id,
                    TOMBSTONES.c.address_hash
                    == any_(bindparam("hashes", list(by_hash), type_=ARRAY(LargeBinary))),
                )
            )
            return {by_hash[bytes(value)] for value in found}

    async def erase(self, user_id: int, contact_id: int, *, at: datetime) -> dict[str, int] | None:
        owned = and_(CONTACTS.c.id == contact_id, CONTACTS.c.user_id == user_id)
        async with self._db.write() as conn:
            email = await conn.scalar(select(CONTACTS.c.email).where(owned).with_for_update())
            if email is None:
                return None
            address = email.lower()
            key = await self._key.get(conn, create=True)
            assert key is not None
            lists = await lists_of(conn, [contact_id])
            recipients = RECIPIENTS.c.contact_id == contact_id
            removed = {
                "contacts": 1,
                "contact_list_memberships": await count(
                    conn, MEMBERSHIPS, MEMBERSHIPS.c.contact_id == contact_id
                ),
                "campaign_recipients": await count(conn, RECIPIENTS, recipients),
                "campaign_clicks": await count(
                    conn, CLICKS, CLICKS.c.recipient_id.in_(recipients_of(contact_id))
                ),
                "contact_status_overrides": await count(
                    conn, OVERRIDES, OVERRIDES.c.contact_id == contact_id
                ),
            }
            scrubbed_logs = await conn.execute(
                update(EMAIL_LOGS)
                .where(logs_of(user_id, contact_id, address))
                .values(recipient_email=ERASED_ADDRESS, subject=None, error_message=None)
            )
            scrubbed_events = await conn.execute(
                update(WEBHOOK_EVENTS)
                .where(events_of(user_id, address))
                .values(payload=ERASED_PAYLOAD, error_message=None)
            )
            deleted_outbox = await conn.execute(
                sql_delete(OUTBOX).where(outbox_of(user_id, address))
            )
            await conn.execute(sql_delete(CONTACTS).where(owned))
            await recount(conn, lists)
            await conn.execute(
                TOMBSTONES.insert().values(
                    user_id=user_id,
                    contact_id=contact_id,
                    address_hash=digest(key, address),
                    erased_at=to_db_time(at),
                )
            )
        return {
            **removed,
            "email_logs": scrubbed_logs.rowcount,
            "webhook_events": scrubbed_events.rowcount,
            "outbox_messages": deleted_outbox.rowcount,
        }
