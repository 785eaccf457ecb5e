"""Sending domains, providers and their failover chain, and transactional messages, bound to
their adapters."""

from __future__ import annotations

from typing import TYPE_CHECKING

from openmailer.adapters.crypto.dkim_keys import CryptographyDkimKeyGenerator
from openmailer.adapters.crypto.secret_box import AesGcmSecretBox
from openmailer.adapters.db.domains import SqlAlchemyDomainRepository
from openmailer.adapters.db.email_logs import (
    SqlAlchemyEmailLogStore,
    SqlAlchemyIdempotencyStore,
    SqlAlchemySendQuota,
)
from openmailer.adapters.db.outbox import SqlAlchemyOutboxStore
from openmailer.adapters.db.providers import SqlAlchemyProviderRepository
from openmailer.adapters.db.suppressions import SqlAlchemySuppressions
from openmailer.adapters.db.templates import SqlAlchemyTemplateRepository
from openmailer.adapters.dns.resolver import DnspythonResolver
from openmailer.adapters.metrics.sending import TimedProviderClient
from openmailer.adapters.native.sender import SenderRsMessageRenderer
from openmailer.adapters.providers.configurations import MsgspecProviderConfigurations
from openmailer.adapters.providers.pool import ProviderClientPool
from openmailer.adapters.redis.circuit_breaker import RedisCircuitBreaker
from openmailer.adapters.redis.provider_limits import RedisProviderLimits
from openmailer.core.domains.service import DomainsPorts, DomainsService
from openmailer.core.messages.service import MessagesPorts, MessagesService
from openmailer.core.messages.services.send import SendPorts
from openmailer.core.ports.sending import ProviderClient
from openmailer.core.registry import Registry
from openmailer.core.sending.chain import ChainPorts, ProviderChain
from openmailer.core.sending.contract import ProviderType
from openmailer.core.sending.model import Provider
from openmailer.core.sending.service import SendingPorts, SendingService
from openmailer.core.sending.services.providers import open_client

if TYPE_CHECKING:
    pass


from openmailer.adapters.bootstrap.resources import (
    DatabaseResources,
    Resources,
    SystemClock,
    builtin_areas,
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
        return TimedProviderClient(client, provider.provider_type)

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
                suppressions=SqlAlchemySuppressions(engine),
            ),
            idempotency=SqlAlchemyIdempotencyStore(engine),
        )
    )
