"""Provider events in PostgreSQL: the webhook sources (providers by token), `webhook_events`
(stored once by (provider_id, provider_event_id), retried from `idx_webhook_events_pending`),
and the unit of work that applies a batch of events' effects.

The unit reads set-based, a statement per table, and locks in this order: the events (skipping
those another worker holds), the email logs, the campaign recipients, the contacts and the
campaigns, each table's rows in id order (the logs FOR UPDATE, the others FOR NO KEY UPDATE),
then writes in the same order: two workers' batches of one campaign wait for each other on its
row, the second reading the counts the first left, and never deadlock (contacts and their
lists are locked as the audience area does, list_counts.py). A batch of deliveries reads and
locks no contacts or campaigns (core's LOG_ONLY_KINDS).
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Table,
    and_,
    any_,
    bindparam,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openmailer.adapters.db.list_counts import CONTACTS, recount_lists_of
from openmailer.adapters.db.providers import SqlAlchemyProviderRepository
from openmailer.adapters.db.tables.campaigns import CampaignRecipient, EmailCampaign
from openmailer.adapters.db.tables.sending import EmailLog, WebhookEvent
from openmailer.adapters.db.unit_of_work import SqlAlchemyUnitOfWork, Statements
from openmailer.adapters.db.users import from_db_time, to_db_time
from openmailer.core.audience.model import ContactStatus
from openmailer.core.events.model import (
    EVENT_SOURCES,
    CampaignState,
    ContactState,
    MessageKey,
    MessageState,
    RowWrites,
    StoredEvent,
    WebhookSource,
)
from openmailer.core.ports.events import ClaimedEvent
from openmailer.core.sending.model import Provider, ProviderView

EVENTS = cast(Table, WebhookEvent.__table__)
LOGS = cast(Table, EmailLog.__table__)
RECIPIENTS = cast(Table, CampaignRecipient.__table__)
CAMPAIGNS = cast(Table, EmailCampaign.__table__)
TOKEN_SHAPE = re.compile(r"^[0-9a-f]{64}$")


class SqlAlchemyWebhookSources:
    """`view`: the provider's settings that are not credentials, opened as the API shows them."""

    def __init__(self, engine: AsyncEngine, view: Callable[[Provider], ProviderView]) -> None:
        self._providers = SqlAlchemyProviderRepository(engine)
        self._view = view

    async def find(self, token: str) -> WebhookSource | None:
        if not TOKEN_SHAPE.fullmatch(token):
            return None
        provider = await self._providers.find_by_webhook_token(token)
        if provider is None or not hmac.compare_digest(provider.webhook_token, token):
            return None
        if provider.provider_type not in EVENT_SOURCES:
            return None
        return WebhookSource(
            provider_id=provider.id,
            user_id=provider.user_id,
            provider_type=provider.provider_type,
            settings=self._view(provider).settings,
        )


class SqlAlchemyWebhookEventStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add(self, source: WebhookSource, events: Sequence[StoredEvent]) -> list[int]:
        statement = (
            insert(EVENTS)
            .values(
                [
                    {
                        "user_id": source.user_id,
                        "provider_id": source.provider_id,
                        "event_type": event.kind.value,
                        "provider_event_id": event.provider_event_id,
                        "payload": event.payload,
                    }
                    for event in events
                ]
            )
            .on_conflict_do_nothing(index_elements=["provider_id", "provider_event_id"])
            .returning(EVENTS.c.id)
        )
        async with self._engine.begin() as conn:
            return sorted(int(row.id) for row in await conn.execute(statement))

    async def pending(self, *, limit: int, max_attempts: int, older_than: datetime) -> list[int]:
        statement = (
            select(EVENTS.c.id)
            .where(
                EVENTS.c.processed.is_(False),
                EVENTS.c.attempts < max_attempts,
                EVENTS.c.created_at < to_db_time(older_than),
            )
            .order_by(EVENTS.c.id)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            return [int(row.id) for row in await conn.execute(statement)]

    async def record_failure(self, event_id: int, error: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                update(EVENTS)
                .where(EVENTS.c.id == event_id)
                .values(attempts=EVENTS.c.attempts + 1, error_message=error)
            )


def _db_value(value: Any) -> Any:
    return to_db_time(value) if isinstance(value, datetime) else value


def _ids(name: str, values: Iterable[int]) -> Any:
    """`= ANY(:name)` over a bigint array: one statement text (and one prepared statement)
    however many ids a batch has."""
    return any_(bindparam(name, sorted(set(values)), type_=ARRAY(BigInteger)))


# The logs the batch's events name, joined to their keys (user, provider message id, lower-cased
# recipient) in one statement, and locked in id order: two workers' batches lock shared logs
# in the same order and cannot deadlock on them.
LOGS_OF_KEYS = text(
    """
    SELECT l.id, l.status, l.recipient_id, l.campaign_id, k.user_id, k.message_id, k.recipient
    FROM email_logs AS l
    JOIN unnest(CAST(:user_ids AS bigint[]), CAST(:message_ids AS text[]),
                CAST(:recipients AS text[])) AS k (user_id, message_id, recipient)
      ON l.user_id = k.user_id AND l.provider_message_id = k.message_id
     AND lower(l.recipient_email) = k.recipient
    ORDER BY l.id
    FOR UPDATE OF l
    """
)


class SqlAlchemyEventUnitOfWork(SqlAlchemyUnitOfWork):
    def bind(self, statements: Statements) -> None:
        return None  # every statement runs on the unit's own connection

    def _conn(self) -> AsyncConnection:
        assert self._connection is not None, "enter the unit of work first"
        return self._connection

    async def claim(self, event_ids: Sequence[int]) -> list[ClaimedEvent]:
        rows = await self._conn().execute(
            select(EVENTS.c.id, EVENTS.c.user_id, EVENTS.c.provider_id, EVENTS.c.payload)
            .where(EVENTS.c.id == _ids("event_ids", event_ids), EVENTS.c.processed.is_(False))
            .order_by(EVENTS.c.id)
            .with_for_update(skip_locked=True)
        )
        return [
            ClaimedEvent(row.id, row.user_id, row.provider_id, dict(row.payload)) for row in rows
        ]

    async def message_states(
        self, keys: Collection[MessageKey], *, audience: bool
    ) -> dict[MessageKey, MessageState]:
        conn = self._conn()
        ordered = sorted(keys, key=lambda key: (key.user_id, key.message_id, key.recipient))
        latest: dict[MessageKey, Any] = {}
        for log in await conn.execute(
            LOGS_OF_KEYS,
            {
                "user_ids": [key.user_id for key in ordered],
                "message_ids": [key.message_id for key in ordered],
                "recipients": [key.recipient for key in ordered],
            },
        ):
            latest[MessageKey(log.user_id, log.message_id, log.recipient)] = log  # id order
        if not latest:
            return {}
        recipients = {
            row.id: row
            for row in await conn.execute(
                select(
                    RECIPIENTS.c.id,
                    RECIPIENTS.c.contact_id,
                    RECIPIENTS.c.campaign_id,
                    RECIPIENTS.c.status,
                    RECIPIENTS.c.bounced_at,
                    RECIPIENTS.c.complained_at,
                )
                .where(
                    RECIPIENTS.c.id
                    == _ids("recipient_ids", (log.recipient_id for log in latest.values()))
                )
                .order_by(RECIPIENTS.c.id)
                .with_for_update(key_share=True)
            )
        }
        if not audience:
            return {
                key: _message_state(log, recipients.get(log.recipient_id), None, None)
                for key, log in latest.items()
            }
        contacts = await self._contacts(latest, recipients)
        campaign_ids = {
            recipients[log.recipient_id].campaign_id
            if log.recipient_id in recipients
            else log.campaign_id
            for log in latest.values()
        }
        campaigns = {
            row.id: row
            for row in await conn.execute(
                select(
                    CAMPAIGNS.c.id,
                    CAMPAIGNS.c.status,
                    CAMPAIGNS.c.sent_count,
                    CAMPAIGNS.c.bounce_count,
                    CAMPAIGNS.c.complaint_count,
                    CAMPAIGNS.c.unsubscribe_count,
                )
                .where(CAMPAIGNS.c.id == _ids("campaign_ids", campaign_ids - {None}))
                .order_by(CAMPAIGNS.c.id)
                .with_for_update(key_share=True)
            )
        }
        states = {}
        for key, log in latest.items():
            recipient = recipients.get(log.recipient_id)
            if recipient is not None:
                contact = contacts.get(recipient.contact_id)
                campaign = campaigns.get(recipient.campaign_id)
            else:
                contact = contacts.get((key.user_id, key.recipient))
                campaign = campaigns.get(log.campaign_id)
            states[key] = _message_state(log, recipient, contact, campaign)
        return states

    async def _contacts(
        self, latest: dict[MessageKey, Any], recipients: dict[int, Any]
    ) -> dict[Any, Any]:
        """The contacts the messages went to, by id for a campaign's recipients and by
        (user, lower-cased address) for the others."""
        by_address = [key for key, log in latest.items() if log.recipient_id not in recipients]
        wanted = CONTACTS.c.id == _ids("contact_ids", (r.contact_id for r in recipients.values()))
        if by_address:
            wanted = or_(
                wanted,
                *[
                    and_(
                        CONTACTS.c.user_id == key.user_id,
                        func.lower(CONTACTS.c.email) == key.recipient,
                    )
                    for key in by_address
                ],
            )
        contacts: dict[Any, Any] = {}
        for row in await self._conn().execute(
            select(
                CONTACTS.c.id,
                CONTACTS.c.user_id,
                func.lower(CONTACTS.c.email).label("address"),
                CONTACTS.c.status,
                CONTACTS.c.bounce_count,
                CONTACTS.c.last_bounce_at,
                CONTACTS.c.complaint_count,
            )
            .where(wanted)
            .order_by(CONTACTS.c.id)
            .with_for_update(key_share=True)
        ):
            contacts[row.id] = row
            contacts.setdefault((row.user_id, row.address), row)
        return contacts

    async def write(self, writes: RowWrites) -> None:
        conn = self._conn()
        # Tables in the order their rows were locked, rows in id order (no deadlock).
        for table, rows in (
            (LOGS, writes.logs),
            (RECIPIENTS, writes.recipients),
            (CONTACTS, writes.contacts),
            (CAMPAIGNS, writes.campaigns),
        ):
            by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
            for row_id in sorted(rows):
                values = rows[row_id]
                by_columns.setdefault(tuple(sorted(values)), []).append(
                    {"row_id": row_id, **{f"new_{k}": _db_value(v) for k, v in values.items()}}
                )
            for columns, parameters in by_columns.items():
                assignments: dict[str, Any] = {name: bindparam(f"new_{name}") for name in columns}
                if table is not LOGS:
                    assignments["updated_at"] = func.timezone("UTC", func.now())
                await conn.execute(
                    update(table).where(table.c.id == bindparam("row_id")).values(assignments),
                    parameters,
                )
        if writes.status_changed:
            await recount_lists_of(conn, sorted(writes.status_changed))

    async def finish(self, notes: Mapping[int, str | None]) -> None:
        await self._conn().execute(
            update(EVENTS)
            .where(EVENTS.c.id == bindparam("event_id"))
            .values(
                processed=True,
                processed_at=func.timezone("UTC", func.now()),
                error_message=bindparam("note"),
            ),
            [{"event_id": event_id, "note": note} for event_id, note in sorted(notes.items())],
        )

    async def fail(self, errors: Mapping[int, str]) -> None:
        await self._conn().execute(
            update(EVENTS)
            .where(EVENTS.c.id == bindparam("event_id"))
            .values(attempts=EVENTS.c.attempts + 1, error_message=bindparam("error")),
            [{"event_id": event_id, "error": error} for event_id, error in sorted(errors.items())],
        )


def _message_state(log: Any, recipient: Any, contact: Any, campaign: Any) -> MessageState:
    return MessageState(
        log_id=log.id,
        log_status=log.status,
        recipient_id=None if recipient is None else recipient.id,
        recipient_status=None if recipient is None else recipient.status,
        recipient_bounced=recipient is not None and recipient.bounced_at is not None,
        recipient_complained=recipient is not None and recipient.complained_at is not None,
        contact=None
        if contact is None
        else ContactState(
            id=contact.id,
            status=ContactStatus(contact.status),
            bounce_count=contact.bounce_count or 0,
            last_bounce_at=from_db_time(contact.last_bounce_at),
            complaint_count=contact.complaint_count or 0,
        ),
        campaign=None
        if campaign is None
        else CampaignState(
            id=campaign.id,
            status=campaign.status,
            sent_count=campaign.sent_count or 0,
            bounce_count=campaign.bounce_count or 0,
            complaint_count=campaign.complaint_count or 0,
            unsubscribe_count=campaign.unsubscribe_count or 0,
        ),
    )
