"""Ports of the sending area: the provider client every provider plugin implements, and the
storage of providers and of the outbox."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from openmailer.core.pages import KeysetPage, Page
from openmailer.core.ports.accounts import Clock
from openmailer.core.sending.contract import CheckReport, OutgoingMessage, ProviderType
from openmailer.core.sending.model import (
    BreakerAdmission,
    BreakerTransition,
    LimitGrant,
    NewOutboxMessage,
    OutboxMessage,
    Provider,
)
from openmailer.core.sending.outcomes import RecipientOutcome


class ProviderClient(Protocol):
    """Sends batches over connections it keeps open between calls (a pool, for SMTP), and
    reconnects by itself when one drops. One client serves one configured provider."""

    async def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[RecipientOutcome]:
        """One outcome per recipient of every message, in order. Never raises for a failure of
        the service (refusals, timeouts, lost connections): those are outcomes."""
        ...

    async def check(self) -> CheckReport:
        """Whether the configured credentials work against the real service, sending nothing
        (SMTP: connect, EHLO, STARTTLS, AUTH)."""
        ...

    async def aclose(self) -> None:
        """Closes the kept connections."""
        ...


class OutboxStore(Protocol):
    """Messages kept instead of delivered, readable from any machine (PostgreSQL)."""

    async def add(self, messages: Sequence[NewOutboxMessage]) -> list[int]:
        """Their ids, in order; one statement for the batch."""
        ...

    async def list_for_user(
        self, user_id: int, *, limit: int, cursor: str | None
    ) -> KeysetPage[OutboxMessage]:
        """Newest first, without the raw bytes."""
        ...

    async def get(self, user_id: int, outbox_id: int) -> OutboxMessage | None: ...


@dataclass(frozen=True, slots=True)
class ProviderContext:
    """What the platform lends a provider client besides its configuration."""

    user_id: int
    provider_id: int | None
    outbox: OutboxStore
    clock: Clock


class ProviderClientFactory(Protocol):
    def __call__(self, configuration: Any, context: ProviderContext) -> ProviderClient:
        """`configuration` is an instance of the type's msgspec Struct, already validated."""
        ...


class ProviderConfigurations(Protocol):
    """Validation and (de)serialisation of configurations by their type's schema."""

    def validate(self, provider_type: ProviderType, raw: Mapping[str, Any]) -> Any:
        """The Struct; raises ValidationError naming the field (`configuration.port`)."""
        ...

    def encode(self, configuration: Any) -> bytes: ...

    def decode(self, provider_type: ProviderType, data: bytes) -> Any: ...

    def as_dict(self, configuration: Any) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class NewProviderRecord:
    user_id: int
    provider_type: str
    provider_name: str
    is_active: bool
    is_default: bool
    priority: int
    daily_limit: int | None
    monthly_limit: int | None


# Columns `ProviderRepository.update` may change.
UPDATABLE_PROVIDER_COLUMNS = frozenset(
    {
        "provider_name",
        "configuration",
        "is_active",
        "is_default",
        "priority",
        "daily_limit",
        "monthly_limit",
    }
)


class ProviderRepository(Protocol):
    async def add(self, record: NewProviderRecord, *, seal: Callable[[int], str]) -> Provider:
        """Reserves the row's id first so that `seal(id)` binds the sealed configuration to the
        row; a new default unsets the user's old one in the same transaction."""
        ...

    async def get(self, user_id: int, provider_id: int) -> Provider | None: ...

    async def list_for_user(self, user_id: int, *, limit: int, offset: int) -> Page[Provider]: ...

    async def update(
        self, user_id: int, provider_id: int, changes: Mapping[str, Any]
    ) -> Provider | None:
        """Only the columns named (see UPDATABLE_PROVIDER_COLUMNS); `is_default: True` unsets
        the old default in the same transaction. None when the user has no such provider."""
        ...

    async def delete(self, user_id: int, provider_id: int) -> bool:
        """False when the user has no such provider; Conflict while campaigns use it."""
        ...

    async def record_check(
        self, user_id: int, provider_id: int, *, error: str | None, at: datetime
    ) -> None:
        """A failed check sets status ERROR with last_error(_at); a passing one clears ERROR."""
        ...

    async def record_health(self, provider_id: int, *, error: str | None, at: datetime) -> None:
        """What sending learnt: an error sets status ERROR with last_error(_at), None clears
        ERROR. Leaves `updated_at` alone: the configuration did not change."""
        ...


class ProviderClients(Protocol):
    """Open clients kept per process and reused across sends and batches, one per provider and
    configuration revision: a changed configuration gets a new client, the old one is closed."""

    async def client_for(self, provider: Provider) -> ProviderClient: ...

    async def aclose(self) -> None:
        """Closes every kept client (at process stop)."""
        ...


class CircuitBreaker(Protocol):
    """Per-provider health shared by every worker: consecutive transient failures open the
    circuit for a cool-down, after which one caller at a time is let through as a probe."""

    async def admit(self, provider_id: int) -> BreakerAdmission: ...

    async def record_success(self, provider_id: int, *, probe: bool) -> BreakerTransition | None:
        """CLOSED when a probe's success closed an open circuit, else None."""
        ...

    async def record_failure(self, provider_id: int, *, probe: bool) -> BreakerTransition | None:
        """OPEN when this failure opened (or a failed probe re-opened) the circuit, else None."""
        ...


class ProviderLimits(Protocol):
    """Daily (UTC day) and monthly counters of what each provider was given, shared by every
    worker; a take never lets the sum over all callers exceed a limit."""

    async def take(self, provider: Provider, count: int) -> LimitGrant:
        """Up to `count` emails, as many as both the daily and the monthly limit have room for
        (0 when either is used up); every take is counted, limited or not."""
        ...

    async def give_back(self, grant: LimitGrant, count: int) -> None:
        """Returns `count` of a grant's emails that were not sent, to the periods it came from."""
        ...


__all__ = [
    "UPDATABLE_PROVIDER_COLUMNS",
    "CircuitBreaker",
    "NewProviderRecord",
    "OutboxStore",
    "ProviderClient",
    "ProviderClientFactory",
    "ProviderClients",
    "ProviderConfigurations",
    "ProviderContext",
    "ProviderLimits",
    "ProviderRepository",
]
