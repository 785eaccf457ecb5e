"""The audience area's unit of work: contacts and lists in one transaction."""

from __future__ import annotations

from openmailer.adapters.db.contact_lists import SqlAlchemyContactListRepository
from openmailer.adapters.db.contacts import SqlAlchemyContactRepository
from openmailer.adapters.db.unit_of_work import SqlAlchemyUnitOfWork, Statements


class SqlAlchemyAudienceUnitOfWork(SqlAlchemyUnitOfWork):
    contacts: SqlAlchemyContactRepository
    lists: SqlAlchemyContactListRepository

    def bind(self, statements: Statements) -> None:
        self.contacts = SqlAlchemyContactRepository(statements)
        self.lists = SqlAlchemyContactListRepository(statements)
