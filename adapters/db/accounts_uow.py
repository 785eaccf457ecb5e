"""The accounts area's unit of work: users and API keys in one transaction."""

from __future__ import annotations

from openmailer.adapters.db.api_keys import SqlAlchemyApiKeyRepository
from openmailer.adapters.db.unit_of_work import SqlAlchemyUnitOfWork, Statements
from openmailer.adapters.db.users import SqlAlchemyUserRepository


class SqlAlchemyAccountsUnitOfWork(SqlAlchemyUnitOfWork):
    users: SqlAlchemyUserRepository
    api_keys: SqlAlchemyApiKeyRepository

    def bind(self, statements: Statements) -> None:
        self.users = SqlAlchemyUserRepository(statements)
        self.api_keys = SqlAlchemyApiKeyRepository(statements)
