"""An in-memory unit of work over the accounts fakes: a failed block leaves them as they were."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self

from openmailer.core.ports.unit_of_work import AccountsUnitOfWork
from tests.unit.accounts.fakes import InMemoryApiKeyRepository, InMemoryUserRepository


class InMemoryAccountsUnitOfWork:
    def __init__(self, users: InMemoryUserRepository, api_keys: InMemoryApiKeyRepository) -> None:
        self.users = users
        self.api_keys = api_keys
        self.committed = False
        self.rolled_back = False
        self._snapshot: tuple[dict[str, Any], dict[str, Any]] | None = None

    async def __aenter__(self) -> Self:
        self._snapshot = (
            {"_rows": dict(self.users._rows)},
            {"_keys": dict(self.api_keys._keys), "_digests": dict(self.api_keys._digests)},
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._snapshot is not None
        if exc_type is None:
            self.committed = True
            return
        users_state, keys_state = self._snapshot
        self.users._rows = users_state["_rows"]
        self.api_keys._keys = keys_state["_keys"]
        self.api_keys._digests = keys_state["_digests"]
        self.rolled_back = True


_uow: AccountsUnitOfWork = InMemoryAccountsUnitOfWork(
    InMemoryUserRepository.__new__(InMemoryUserRepository),
    InMemoryApiKeyRepository.__new__(InMemoryApiKeyRepository),
)
