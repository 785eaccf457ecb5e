"""Provider events in PostgreSQL: the webhook sources (providers by token), `webhook_events`
(stored once by (provider_id, provider_event_id), retried from `idx_webhook_events_pending`),
and the unit of work that applies one event's effects.

The unit locks, in this order, the event, the email log, the campaign recipient, the contact
and the campaign: two events of one campaign wait for each other on the campaign row and never
deadlock (contacts and their lists are locked as the audience area does, list_counts.py).
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.dialects.postgresql import insert
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
    Effects,
    MessageState,
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


def _db_values(values: dict[str, Any]) -> dict[str, Any]:
    return {k: to_db_time(v) if isinstance(v, datetime) else v for k, v in values.items()}


class SqlAlchemyEventUnitOfWork(SqlAlchemyUnitOfWork):
    def bind(self, statements: Statements) -> None:
        return None  # every statement runs on the unit's own connection

    def _conn(self) -> AsyncConnection:
        assert self._connection is not None, "enter the unit of work first"
        return self._connection

    async def claim(self, event_id: int) -> ClaimedEvent | None:
        conn = self._conn()
        row = (
            await conn.execute(
                select(EVENTS.c.id, EVENTS.c.user_id, EVENTS.c.provider_id, EVENTS.c.payload)
                .where(EVENTS.c.id == event_id, EVENTS.c.processed.is_(False))
                .with_for_update(skip_locked=True)
            )
        ).first()
        if row is None:
            return None
        return ClaimedEvent(row.id, row.user_id, row.provider_id, dict(row.payload))

    async def message_state(
        self, user_id: int, message_id: str, recipient: str
    ) -> MessageState | None:
        conn = self._conn()
        log = (
            await conn.execute(
                select(LOGS.c.id, LOGS.c.status, LOGS.c.recipient_id, LOGS.c.campaign_id)
                .where(
                    LOGS.c.user_id == user_id,
                    LOGS.c.provider_message_id == message_id,
                    func.lower(LOGS.c.recipient_email) == recipient.lower(),
                )
                .order_by(LOGS.c.id.desc())
                .limit(1)
                .with_for_update()
            )
        ).first()
        if log is None:
            return None
        recipient_row = None
        if log.recipient_id is not None:
            recipient_row = (
                await conn.execute(
                    select(RECIPIENTS)
                    .where(RECIPIENTS.c.id == log.recipient_id)
                    .with_for_update(key_share=True)
                )
            ).first()
        if recipient_row is not None:
            contact_where = CONTACTS.c.id == recipient_row.contact_id
        else:
            contact_where = (CONTACTS.c.user_id == user_id) & (
                func.lower(CONTACTS.c.email) == recipient.lower()
            )
        contact = (
            await conn.execute(
                select(CONTACTS).where(contact_where).with_for_update(key_share=True)
            )
        ).first()
        campaign_id = recipient_row.campaign_id if recipient_row is not None else log.campaign_id
        campaign = None
        if campaign_id is not None:
            campaign = (
                await conn.execute(
                    select(CAMPAIGNS)
                    .where(CAMPAIGNS.c.id == campaign_id)
                    .with_for_update(key_share=True)
                )
            ).first()
        return MessageState(
            log_id=log.id,
            log_status=log.status,
            recipient_id=None if recipient_row is None else recipient_row.id,
            recipient_status=None if recipient_row is None else recipient_row.status,
            recipient_bounced=recipient_row is not None and recipient_row.bounced_at is not None,
            recipient_complained=(
                recipient_row is not None and recipient_row.complained_at is not None
            ),
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

    async def apply(self, state: MessageState, effects: Effects) -> None:
        conn = self._conn()
        now = func.timezone("UTC", func.now())
        if effects.log:
            await conn.execute(
                update(LOGS).where(LOGS.c.id == state.log_id).values(_db_values(effects.log))
            )
        if effects.recipient and state.recipient_id is not None:
            await conn.execute(
                update(RECIPIENTS)
                .where(RECIPIENTS.c.id == state.recipient_id)
                .values({**_db_values(effects.recipient), "updated_at": now})
            )
        if effects.contact and state.contact is not None:
            await conn.execute(
                update(CONTACTS)
                .where(CONTACTS.c.id == state.contact.id)
                .values({**_db_values(effects.contact), "updated_at": now})
            )
            if effects.contact_status_changed:
                await recount_lists_of(conn, [state.contact.id])
        if effects.campaign and state.campaign is not None:
            await conn.execute(
                update(CAMPAIGNS)
                .where(CAMPAIGNS.c.id == state.campaign.id)
                .values({**_db_values(effects.campaign), "updated_at": now})
            )

    async def finish(self, event_id: int, *, note: str | None) -> None:
        conn = self._conn()
        await conn.execute(
            update(EVENTS)
            .where(EVENTS.c.id == event_id)
            .values(
                processed=True,
                processed_at=func.timezone("UTC", func.now()),
                error_message=note,
            )
        )
