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
from openmailer.core.sending.model import NewOutboxMessage, OutboxMessage, Provider
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


__all__ = [
    "UPDATABLE_PROVIDER_COLUMNS",
    "NewProviderRecord",
    "OutboxStore",
    "ProviderClient",
    "ProviderClientFactory",
    "ProviderConfigurations",
    "ProviderContext",
    "ProviderRepository",
]
