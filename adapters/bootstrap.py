"""The composition root: the one place that knows every concrete class and wires them together.

Every process (api, worker, scheduler, CLI) builds what it needs here: its resources, each area's
ports bound once into that area's service (`AccountsService`), and the registries the plugins
filled. Callers take overrides as arguments (tests pass fakes, other settings, extra areas).
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import dramatiq
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from openmailer.adapters.addresses import EmailValidatorAddresses
from openmailer.adapters.crypto.dkim_keys import CryptographyDkimKeyGenerator
from openmailer.adapters.crypto.passwords import DEFAULT_ROUNDS, BcryptPasswordHasher
from openmailer.adapters.crypto.secret_box import AesGcmSecretBox
from openmailer.adapters.db.accounts_uow import SqlAlchemyAccountsUnitOfWork
from openmailer.adapters.db.api_keys import SqlAlchemyApiKeyRepository
from openmailer.adapters.db.audience_uow import SqlAlchemyAudienceUnitOfWork
from openmailer.adapters.db.campaign_audience import SqlAlchemyCampaignAudience
from openmailer.adapters.db.campaigns import (
    SqlAlchemyCampaignRepository,
    SqlAlchemyCampaignTemplates,
)
from openmailer.adapters.db.contact_erasure import SqlAlchemyContactErasures
from openmailer.adapters.db.contact_export import SqlAlchemyContactExports
from openmailer.adapters.db.contact_lists import SqlAlchemyContactListRepository
from openmailer.adapters.db.contacts import SqlAlchemyContactRepository
from openmailer.adapters.db.domains import SqlAlchemyDomainRepository
from openmailer.adapters.db.email_logs import (
    SqlAlchemyEmailLogStore,
    SqlAlchemyIdempotencyStore,
    SqlAlchemySendQuota,
)
from openmailer.adapters.db.engine import create_engine
from openmailer.adapters.db.imports import SqlAlchemyImportStore
from openmailer.adapters.db.outbox import SqlAlchemyOutboxStore
from openmailer.adapters.db.providers import SqlAlchemyProviderRepository
from openmailer.adapters.db.segments import SqlAlchemyAudienceQuery, SqlAlchemySegmentRepository
from openmailer.adapters.db.templates import SqlAlchemyTemplateRepository
from openmailer.adapters.db.users import SqlAlchemyUserRepository
from openmailer.adapters.dns.resolver import DnspythonResolver
from openmailer.adapters.native.sender import SenderRsMessageRenderer
from openmailer.adapters.providers.configurations import MsgspecProviderConfigurations
from openmailer.adapters.providers.pool import ProviderClientPool
from openmailer.adapters.redis.api_key_usage import RedisApiKeyUsage
from openmailer.adapters.redis.circuit_breaker import RedisCircuitBreaker
from openmailer.adapters.redis.provider_limits import RedisProviderLimits
from openmailer.adapters.redis.rate_limiter import RedisRateLimiter
from openmailer.adapters.redis.sessions import RedisSessionStore
from openmailer.adapters.redis.totp_guard import RedisTotpReplayGuard
from openmailer.adapters.settings import Settings, load_settings
from openmailer.core.accounts.service import AccountsPorts, AccountsService, UserAdminService
from openmailer.core.areas import AreaRegistries
from openmailer.core.audience.service import AudiencePorts, AudienceService
from openmailer.core.campaigns.service import CampaignsPorts, CampaignsService
from openmailer.core.campaigns.services.campaigns import References
from openmailer.core.domains.service import DomainsPorts, DomainsService
from openmailer.core.imports.service import ImportsPorts, ImportsService
from openmailer.core.messages.service import MessagesPorts, MessagesService
from openmailer.core.messages.services.send import SendPorts
from openmailer.core.ports.imports import ImportQueue
from openmailer.core.ports.sending import ProviderClient
from openmailer.core.registry import Registry
from openmailer.core.segments.operators import SegmentOperator
from openmailer.core.segments.service import SegmentsPorts, SegmentsService
from openmailer.core.sending.chain import ChainPorts, ProviderChain
from openmailer.core.sending.contract import ProviderType
from openmailer.core.sending.model import Provider
from openmailer.core.sending.service import SendingPorts, SendingService
from openmailer.core.sending.services.providers import open_client
from openmailer.core.templates.service import TemplatesPorts, TemplatesService
from openmailer.plugins.manager import load_areas

if TYPE_CHECKING:
    from dramatiq.brokers.redis import RedisBroker


class ServicesNotConfiguredError(RuntimeError):
    """A process that needs PostgreSQL and Redis was started without their URLs."""


@dataclass
class DatabaseResources:
    """The PostgreSQL side of a process's connections: all that the database-only CLI needs."""

    settings: Settings
    engine: AsyncEngine

    async def aclose(self) -> None:
        await self.engine.dispose()


@dataclass
class Resources(DatabaseResources):
    """Long-lived connections of one process; closed together. `provider_chain` is built once
    per process (`build_provider_chain`) so that every service sending mail shares its pool of
    provider connections."""

    redis: Redis
    provider_chain: ProviderChain | None = None
    provider_clients: ProviderClientPool | None = None

    async def aclose(self) -> None:
        if self.provider_clients is not None:
            await self.provider_clients.aclose()
        await self.redis.aclose()
        await super().aclose()


def require_database_url(settings: Settings) -> str:
    if settings.database_url is None:
        raise ServicesNotConfiguredError(
            "OPENMAILER_DATABASE_URL must be set, e.g. postgresql://postgres@127.0.0.1:5432/openmailer"
        )
    return settings.database_url


def require_service_urls(settings: Settings) -> tuple[str, str]:
    if settings.database_url is None or settings.redis_url is None:
        missing = [
            name
            for name, value in (
                ("OPENMAILER_DATABASE_URL", settings.database_url),
                ("OPENMAILER_REDIS_URL", settings.redis_url),
            )
            if value is None
        ]
        raise ServicesNotConfiguredError(
            f"{' and '.join(missing)} must be set for this process; "
            "`openmailer up` starts embedded services and sets them for you"
        )
    return settings.database_url, settings.redis_url


def create_redis(redis_url: str, timeout: float = 3.0) -> Redis:
    """`timeout`: seconds to connect and per command (default: OPENMAILER_REDIS_TIMEOUT's)."""
    return Redis.from_url(redis_url, socket_timeout=timeout, socket_connect_timeout=timeout)


def create_service_engine(database_url: str, settings: Settings) -> AsyncEngine:
    """The engine of the processes and commands, with the settings' timeouts: an unreachable or
    silent PostgreSQL fails a request within seconds instead of holding it. (Migrations build
    their own engine: a schema change may rightly run longer than a statement timeout.)"""
    return create_engine(
        database_url,
        # waiting for a pooled connection is bounded like making one
        pool_timeout=settings.database_connect_timeout,
        connect_args={
            "timeout": settings.database_connect_timeout,
            # asyncpg's client-side limit: it also ends a wait on a server that stopped answering
            "command_timeout": settings.database_statement_timeout,
        },
    )


@asynccontextmanager
async def open_database(settings: Settings | None = None) -> AsyncIterator[DatabaseResources]:
    """PostgreSQL only, for commands that never touch Redis (`users`, `keys`)."""
    settings = settings or load_settings()
    engine = create_service_engine(require_database_url(settings), settings)
    database = DatabaseResources(settings, engine)
    try:
        yield database
    finally:
        await database.aclose()


@asynccontextmanager
async def open_resources(settings: Settings | None = None) -> AsyncIterator[Resources]:
    settings = settings or load_settings()
    database_url, redis_url = require_service_urls(settings)
    resources = Resources(
        settings,
        create_service_engine(database_url, settings),
        create_redis(redis_url, settings.redis_timeout),
    )
    try:
        yield resources
    finally:
        await resources.aclose()


def configure_broker(settings: Settings | None = None) -> RedisBroker:
    """Install the Redis broker as dramatiq's global broker; must run before actors are declared."""
    from dramatiq.brokers.redis import RedisBroker

    settings = settings or load_settings()
    _, redis_url = require_service_urls(settings)
    # dramatiq ships py.typed but leaves RedisBroker.__init__ unannotated
    broker = RedisBroker(url=redis_url, namespace="openmailer")  # type: ignore[no-untyped-call]
    dramatiq.set_broker(broker)
    return broker


# --- accounts and access -------------------------------------------------------------------


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def build_accounts(
    resources: Resources, *, password_rounds: int = DEFAULT_ROUNDS
) -> AccountsService:
    """The accounts area bound to real adapters. `password_rounds` is bcrypt's cost; tests
    lower it, production keeps the default (12)."""
    engine = resources.engine
    return AccountsService(
        AccountsPorts(
            users=SqlAlchemyUserRepository(engine),
            api_keys=SqlAlchemyApiKeyRepository(engine),
            sessions=RedisSessionStore(resources.redis),
            api_key_usage=RedisApiKeyUsage(resources.redis),
            replay_guard=RedisTotpReplayGuard(resources.redis),
            rate_limiter=RedisRateLimiter(resources.redis),
            hasher=BcryptPasswordHasher(password_rounds),
            secret_box=AesGcmSecretBox(resources.settings.secret_keys),
            clock=SystemClock(),
            unit_of_work=lambda: SqlAlchemyAccountsUnitOfWork(engine),
        )
    )


def build_user_admin(
    database: DatabaseResources, *, password_rounds: int = DEFAULT_ROUNDS
) -> UserAdminService:
    """User administration on PostgreSQL alone, for the commands that must not need Redis."""
    return UserAdminService(
        SqlAlchemyUserRepository(database.engine), BcryptPasswordHasher(password_rounds)
    )


# --- sending domains -----------------------------------------------------------------------


def build_domains(database: DatabaseResources) -> DomainsService:
    """Sending domains need PostgreSQL, DNS and the secret keys; no Redis."""
    settings = database.settings
    return DomainsService(
        DomainsPorts(
            domains=SqlAlchemyDomainRepository(database.engine),
            dns=DnspythonResolver(settings.dns_nameservers, timeout=settings.dns_timeout),
            keys=CryptographyDkimKeyGenerator(),
            secret_box=AesGcmSecretBox(settings.secret_keys),
            clock=SystemClock(),
        )
    )


# --- segments ------------------------------------------------------------------------------


def build_segments(
    resources: DatabaseResources, operators: Registry[SegmentOperator]
) -> SegmentsService:
    """Segments on PostgreSQL, with the operators the plugins registered at start-up."""
    engine = resources.engine
    return SegmentsService(
        SegmentsPorts(
            segments=SqlAlchemySegmentRepository(engine),
            audience=SqlAlchemyAudienceQuery(engine, operators),
            operators=operators,
            clock=SystemClock(),
        )
    )


# --- sending -----------------------------------------------------------------------------------


def build_sending(
    database: DatabaseResources, provider_types: Registry[ProviderType] | None = None
) -> SendingService:
    """The sending area on PostgreSQL; `provider_types` defaults to what the installed plugins
    registered."""
    engine = database.engine
    return SendingService(
        SendingPorts(
            providers=SqlAlchemyProviderRepository(engine),
            outbox=SqlAlchemyOutboxStore(engine),
            configurations=MsgspecProviderConfigurations(),
            secret_box=AesGcmSecretBox(database.settings.secret_keys),
            clock=SystemClock(),
            provider_types=builtin_areas().providers if provider_types is None else provider_types,
        )
    )


def build_provider_chain(
    resources: Resources, provider_types: Registry[ProviderType] | None = None
) -> ProviderChain:
    """The failover chain over users' providers, once per process: breakers and limits in
    Redis (shared by every process), clients kept open in this process's pool (closed with the
    resources). The transactional send and the campaign workers send through it."""
    if resources.provider_chain is not None:
        return resources.provider_chain
    settings = resources.settings
    engine = resources.engine
    clock = SystemClock()
    types = builtin_areas().providers if provider_types is None else provider_types
    secret_box = AesGcmSecretBox(settings.secret_keys)
    outbox = SqlAlchemyOutboxStore(engine)
    configurations = MsgspecProviderConfigurations()

    async def open_provider_client(provider: Provider) -> ProviderClient:
        _, client = await open_client(
            provider,
            provider_types=types,
            configurations=configurations,
            secret_box=secret_box,
            outbox=outbox,
            clock=clock,
        )
        return client

    pool = ProviderClientPool(open_provider_client)
    resources.provider_clients = pool
    resources.provider_chain = ProviderChain(
        ChainPorts(
            providers=SqlAlchemyProviderRepository(engine),
            clients=pool,
            breaker=RedisCircuitBreaker(
                resources.redis,
                clock,
                failure_threshold=settings.provider_breaker_failures,
                cooldown_seconds=settings.provider_breaker_cooldown,
            ),
            limits=RedisProviderLimits(resources.redis, clock),
            clock=clock,
        )
    )
    return resources.provider_chain


# --- audience ------------------------------------------------------------------------------


def build_audience(database: DatabaseResources) -> AudienceService:
    """Contacts, lists and memberships on PostgreSQL (no Redis needed)."""
    engine = database.engine
    return AudienceService(
        AudiencePorts(
            contacts=SqlAlchemyContactRepository(engine),
            lists=SqlAlchemyContactListRepository(engine),
            addresses=EmailValidatorAddresses(),
            clock=SystemClock(),
            unit_of_work=lambda: SqlAlchemyAudienceUnitOfWork(engine),
            erasures=SqlAlchemyContactErasures(
                engine, AesGcmSecretBox(database.settings.secret_keys)
            ),
            exports=SqlAlchemyContactExports(engine),
        )
    )


# --- messages ------------------------------------------------------------------------------


def build_messages(
    resources: Resources, provider_types: Registry[ProviderType] | None = None
) -> MessagesService:
    """Transactional sends on PostgreSQL through the provider chain (Redis: breakers, limits),
    rendered and signed by sender_rs with the domains area's keys."""
    engine = resources.engine
    settings = resources.settings
    return MessagesService(
        MessagesPorts(
            send=SendPorts(
                logs=SqlAlchemyEmailLogStore(engine),
                quota=SqlAlchemySendQuota(engine),
                domains=SqlAlchemyDomainRepository(engine),
                providers=SqlAlchemyProviderRepository(engine),
                outbox=SqlAlchemyOutboxStore(engine),
                renderer=SenderRsMessageRenderer(threads=1),
                configurations=MsgspecProviderConfigurations(),
                provider_types=(
                    builtin_areas().providers if provider_types is None else provider_types
                ),
                secret_box=AesGcmSecretBox(settings.secret_keys),
                clock=SystemClock(),
                base_url=settings.base_url,
                chain=build_provider_chain(resources, provider_types),
                templates=SqlAlchemyTemplateRepository(engine),
            ),
            idempotency=SqlAlchemyIdempotencyStore(engine),
        )
    )


# --- templates -----------------------------------------------------------------------------


def build_templates(database: DatabaseResources) -> TemplatesService:
    """Templates and their versions on PostgreSQL, compiled and previewed by sender_rs."""
    engine = database.engine
    return TemplatesService(
        TemplatesPorts(
            templates=SqlAlchemyTemplateRepository(engine),
            contacts=SqlAlchemyContactRepository(engine),
            renderer=SenderRsMessageRenderer(threads=1),
            base_url=database.settings.base_url,
        )
    )


# --- campaigns -----------------------------------------------------------------------------


def build_campaigns(
    database: DatabaseResources, operators: Registry[SegmentOperator]
) -> CampaignsService:
    """Campaigns on PostgreSQL. Templates are read through the campaigns area's own narrow
    port (`SqlAlchemyCampaignTemplates`); bind the templates area's repository there once it
    exists."""
    engine = database.engine
    return CampaignsService(
        CampaignsPorts(
            campaigns=SqlAlchemyCampaignRepository(engine),
            refs=References(
                templates=SqlAlchemyCampaignTemplates(engine),
                lists=SqlAlchemyAudienceQuery(engine, operators),
                segments=SqlAlchemySegmentRepository(engine),
                domains=SqlAlchemyDomainRepository(engine),
                providers=SqlAlchemyProviderRepository(engine),
            ),
            audience=SqlAlchemyCampaignAudience(
                engine, operators, AesGcmSecretBox(database.settings.secret_keys)
            ),
            operators=operators,
            clock=SystemClock(),
        )
    )


# --- areas -----------------------------------------------------------------------------------


@functools.cache
def builtin_areas() -> AreaRegistries:
    """What the installed plugins (the built-in areas among them) registered; once per process."""
    return load_areas()


# --- imports -------------------------------------------------------------------------------


def build_imports(database: DatabaseResources, queue: ImportQueue | None = None) -> ImportsService:
    """CSV imports on PostgreSQL; jobs go to the workers through the Redis broker, unless
    `queue` says otherwise (the import command runs them itself)."""
    from openmailer.adapters.workers.import_queue import DramatiqImportQueue, NoQueue

    engine = database.engine
    settings = database.settings
    if queue is None:
        queue = NoQueue() if settings.redis_url is None else DramatiqImportQueue(settings.redis_url)
    return ImportsService(
        ImportsPorts(
            store=SqlAlchemyImportStore(engine),
            queue=queue,
            addresses=EmailValidatorAddresses(),
            erasures=SqlAlchemyContactErasures(engine, AesGcmSecretBox(settings.secret_keys)),
            clock=SystemClock(),
            max_upload_bytes=settings.import_max_bytes,
        )
    )
