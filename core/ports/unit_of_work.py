"""The unit of work: one transaction that several repositories share.

`async with uow:` begins it; leaving the block normally commits everything the repositories
did inside, leaving it by an exception rolls all of it back. Each area extends the Protocol
with the repositories its multi-step use cases need.
"""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self

from openmailer.core.ports.accounts import ApiKeyRepository, UserRepository
from openmailer.core.ports.audience import ContactListRepository, ContactRepository


class UnitOfWork(Protocol):
    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...


class AccountsUnitOfWork(UnitOfWork, Protocol):
    @property
    def users(self) -> UserRepository: ...

    @property
    def api_keys(self) -> ApiKeyRepository: ...


class AudienceUnitOfWork(UnitOfWork, Protocol):
    @property
    def contacts(self) -> ContactRepository: ...

    @property
    def lists(self) -> ContactListRepository: ...


__all__ = ["AccountsUnitOfWork", "AudienceUnitOfWork", "UnitOfWork"]
