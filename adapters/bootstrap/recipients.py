"""The recipient pages bound to PostgreSQL, Redis and the messages service."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from openmailer.adapters.bootstrap.audience import build_audience
from openmailer.adapters.bootstrap.resources import (
    Resources,
    SystemClock,
    require_database_url,
)
from openmailer.adapters.bootstrap.sending import build_messages
from openmailer.adapters.crypto.secret_box import AesGcmSecretBox
from openmailer.adapters.db.installation_keys import InstallationKey, tracking_key
from openmailer.adapters.db.recipient_pages import SqlAlchemyRecipientPagesStore
from openmailer.adapters.db.unsubscribe_writes import AsyncpgUnsubscribeWrites
from openmailer.adapters.db.users import SqlAlchemyUserRepository
from openmailer.adapters.redis.rate_limiter import RedisRateLimiter
from openmailer.core.accounts.model import Principal
from openmailer.core.messages.model import MessageDraft
from openmailer.core.messages.service import MessagesService
from openmailer.core.ports.accounts import UserRepository
from openmailer.core.recipients.service import RecipientPagesPorts, RecipientPagesService
from openmailer.core.registry import Registry
from openmailer.core.sending.contract import ProviderType


class MessagesOwnerMail:
    """Sends as the owner through the messages service: its provider chain, else its outbox."""

    def __init__(self, users: UserRepository, messages: MessagesService) -> None:
        self._users = users
        self._messages = messages

    async def send(self, user_id: int, draft: MessageDraft) -> None:
        user = await self._users.get(user_id)
        if user is None:
            return
        await self._messages.send(
            Principal(user=user, scopes=frozenset()), draft, idempotency_key=None
        )


class StoredPagesKey:
    def __init__(self, engine: AsyncEngine, key: InstallationKey) -> None:
        self._engine = engine
        self._key = key

    async def get(self) -> bytes:
        return await self._key.get_or_create(self._engine)


def build_recipient_pages(
    resources: Resources, provider_types: Registry[ProviderType] | None = None
) -> RecipientPagesService:
    """The unsubscribe's writes get asyncpg pools of their own (opened on first use, closed
    with the service: `RecipientPagesService.aclose`)."""
    engine = resources.engine
    settings = resources.settings
    unsubscribe_writes = AsyncpgUnsubscribeWrites(
        require_database_url(settings),
        connect_timeout=settings.database_connect_timeout,
        statement_timeout=settings.database_statement_timeout,
    )
    return RecipientPagesService(
        RecipientPagesPorts(
            store=SqlAlchemyRecipientPagesStore(engine, unsubscribe_writes),
            audience=build_audience(resources),
            mail=MessagesOwnerMail(
                SqlAlchemyUserRepository(engine), build_messages(resources, provider_types)
            ),
            key=StoredPagesKey(engine, tracking_key(AesGcmSecretBox(settings.secret_keys))),
            clock=SystemClock(),
            rate_limiter=RedisRateLimiter(resources.redis),
            base_url=settings.base_url.rstrip("/"),
        )
    )
