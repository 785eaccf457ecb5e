"""Helpers of the domains tests: domains made directly, and a resolver over the test DNS server."""

from __future__ import annotations

import itertools
import os
from typing import cast

from openmailer.adapters.crypto.dkim_keys import CryptographyDkimKeyGenerator
from openmailer.adapters.db.domains import SqlAlchemyDomainRepository
from openmailer.adapters.db.unit_of_work import SqlAlchemyUnitOfWork
from openmailer.core.accounts.model import Principal, User
from openmailer.core.accounts.service import AccountsPorts as Accounts
from openmailer.core.domains.services import domains

_names = itertools.count(1)


def unique_domain_name(label: str = "mail") -> str:
    return f"{label}{next(_names)}-{os.getpid()}.example"


async def foreign_domain(accounts: Accounts, owner: User) -> int:
    """A domain of `owner`, made in the accounts' database (for the every-route walk)."""
    async with cast(SqlAlchemyUnitOfWork, accounts.unit_of_work()) as uow:
        domain = await domains.add_domain(
            Principal(user=owner, scopes=frozenset()),
            unique_domain_name("foreign"),
            domains=SqlAlchemyDomainRepository(uow.statements),
            keys=CryptographyDkimKeyGenerator(),
            secret_box=accounts.secret_box,
            clock=accounts.clock,
        )
    return domain.id
