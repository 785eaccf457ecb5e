"""Helpers for the audience integration tests: callers with the contacts scopes, and another
user's contact and list for the every-route walk."""

from __future__ import annotations

import itertools
import os
from types import SimpleNamespace

from openmailer.adapters.bootstrap import DatabaseResources, build_audience
from openmailer.core.accounts.model import Principal, User
from openmailer.core.accounts.service import AccountsPorts as Accounts
from openmailer.core.audience.model import ContactStatus, NewContact
from openmailer.core.audience.service import AudienceService
from tests.integration.accounts.accounts_helpers import Caller, api_key_for, engine_of, make_user

CONTACT_SCOPES = ["read:contacts", "write:contacts"]
_addresses = itertools.count(1)


def audience_of(accounts: Accounts) -> AudienceService:
    # No secret keys: these helpers never erase, and a user who never erased needs none.
    settings = SimpleNamespace(secret_keys=())
    return build_audience(DatabaseResources(settings=settings, engine=engine_of(accounts)))  # type: ignore[arg-type]


def new_address(prefix: str = "contact") -> str:
    return f"{prefix}{next(_addresses)}.{os.getpid()}@example.com"


async def contacts_caller(accounts: Accounts) -> Caller:
    return await api_key_for(accounts, await make_user(accounts), CONTACT_SCOPES)


def principal_of(user: User) -> Principal:
    return Principal(user=user, scopes=frozenset(CONTACT_SCOPES))


async def foreign_contact(accounts: Accounts, owner: User) -> int:
    contact = await audience_of(accounts).create_contact(
        principal_of(owner),
        NewContact(email=new_address("foreign"), status=ContactStatus.SUBSCRIBED),
    )
    return contact.id


async def foreign_list(accounts: Accounts, owner: User) -> int:
    created = await audience_of(accounts).create_list(
        principal_of(owner), f"foreign list {next(_addresses)}"
    )
    return created.id
