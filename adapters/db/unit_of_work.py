"""Where a repository's statements run: on their own, or inside a unit of work's transaction.

A repository built on the engine opens a connection per call (`read`) or a transaction per call
(`write`). Built by a unit of work, it runs on the unit's one connection: `write` is a SAVEPOINT,
so a statement that fails (a taken username) undoes itself and the unit can still commit or roll
back the rest as one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from types import TracebackType
from typing import Protocol, Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncTransaction


class Statements(Protocol):
    def read(self) -> AbstractAsyncContextManager[AsyncConnection]: ...

    def write(self) -> AbstractAsyncContextManager[AsyncConnection]: ...


class OwnTransactions:
    """Each call on its own connection; writes commit when the call returns."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    def read(self) -> AbstractAsyncContextManager[AsyncConnection]:
        return self._engine.connect()

    def write(self) -> AbstractAsyncContextManager[AsyncConnection]:
        return self._engine.begin()


class SharedTransaction:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        yield self._connection

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        async with self._connection.begin_nested():
            yield self._connection


def statements_on(target: AsyncEngine | Statements) -> Statements:
    return OwnTransactions(target) if isinstance(target, AsyncEngine) else target


class SqlAlchemyUnitOfWork:
    """One connection and one transaction; subclasses bind their area's repositories to it."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._connection: AsyncConnection | None = None
        self._transaction: AsyncTransaction | None = None

    @property
    def engine(self) -> AsyncEngine:
        """The engine the unit opens its connection on (tests make fixtures through it)."""
        return self._engine

    async def __aenter__(self) -> Self:
        if self._connection is not None:
            raise RuntimeError("a unit of work is entered once; make a new one per use case")
        self._connection = await self._engine.connect()
        self._transaction = await self._connection.begin()
        self.statements = SharedTransaction(self._connection)
        self.bind(self.statements)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._connection is not None and self._transaction is not None
        try:
            if exc_type is None:
                await self._transaction.commit()
            else:
                await self._transaction.rollback()
        finally:
            await self._connection.close()

    statements: Statements
    """The unit's transaction, once entered: other repositories built on it join it."""

    def bind(self, statements: Statements) -> None:
        """Build the repositories on the unit's transaction."""
        raise NotImplementedError
