"""Ports of the audience area: contacts, lists and memberships storage, address normalization.

Every method takes the owner's `user_id`: a contact or list of another user is absent (None,
False, not found), never an error that tells it exists. The repositories keep the lists' cached
`total_contacts` / `active_contacts` true themselves, in the transaction of each change.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Protocol

from openmailer.core.audience.model import (
    Contact,
    ContactChanges,
    ContactFilter,
    ContactList,
    Member,
    MembersAdded,
    MembershipStatus,
    NewContact,
    StatusOverride,
    UpsertedContact,
)
from openmailer.core.pages import Page


class EmailAddresses(Protocol):
    def normalize(self, raw: str) -> str:
        """The address trimmed, syntax checked (no DNS), domain lower-cased and IDNA-encoded;
        ValidationError(field="email", code="invalid_email") otherwise."""
        ...


class ContactRepository(Protocol):
    async def add(self, user_id: int, contact: NewContact) -> Contact:
        """Conflict (code `contact_exists`, detail naming the existing id) when the user has a
        contact with that address in any case."""
        ...

    async def get(self, user_id: int, contact_id: int, *, lock: bool = False) -> Contact | None:
        """`lock`: hold the row until the unit of work ends (a read-decide-write use case)."""
        ...

    async def find_by_emails(
        self, user_id: int, emails: Sequence[str], *, lock: bool = False
    ) -> dict[str, Contact]:
        """Keyed by the lower-cased address."""
        ...

    async def find_by_confirmation_token(self, token: str) -> Contact | None: ...

    async def update(
        self, user_id: int, contact_id: int, changes: ContactChanges
    ) -> Contact | None:
        """Conflict like `add` when the new address is another contact's."""
        ...

    async def record_override(self, override: StatusOverride) -> None: ...

    async def delete(self, user_id: int, contact_id: int) -> bool: ...

    async def page(
        self, user_id: int, where: ContactFilter, *, after_id: int | None, limit: int
    ) -> list[Contact]:
        """Up to `limit` contacts with id > `after_id`, by id (keyset: no offset is scanned)."""
        ...

    async def upsert_many(
        self, user_id: int, contacts: Sequence[NewContact]
    ) -> list[UpsertedContact]:
        """Insert or update by address, in one statement; addresses are distinct (ignoring
        case). The order of the result is not that of the input: match on `email`."""
        ...


class ContactListRepository(Protocol):
    async def add(
        self, user_id: int, name: str, description: str | None, double_opt_in: bool
    ) -> ContactList:
        """Conflict (`list_name_taken`) when the user has a list of that name."""
        ...

    async def get(self, user_id: int, list_id: int) -> ContactList | None: ...

    async def page(self, user_id: int, *, limit: int, offset: int) -> Page[ContactList]: ...

    async def update(
        self, user_id: int, list_id: int, values: dict[str, object]
    ) -> ContactList | None:
        """Conflict like `add` on a taken name."""
        ...

    async def delete(self, user_id: int, list_id: int) -> bool: ...

    async def add_members(
        self, user_id: int, list_id: int, *, contact_ids: Sequence[int], emails: Sequence[str]
    ) -> MembersAdded | None:
        """None when the list is not the user's. Otherwise ACTIVE memberships for the
        user's contacts among `contact_ids` and `emails` (lower-cased addresses); REMOVED ones
        become ACTIVE again."""
        ...

    async def remove_member(self, user_id: int, list_id: int, contact_id: int) -> bool:
        """The ACTIVE membership becomes REMOVED (the row stays, with `unsubscribed_at`)."""
        ...

    async def members(
        self,
        user_id: int,
        list_id: int,
        *,
        status: MembershipStatus | None,
        after_id: int | None,
        limit: int,
    ) -> list[Member]:
        """By contact id, keyset like the contacts' page."""
        ...


class ContactErasures(Protocol):
    """GDPR erasure: the personal data of a contact removed everywhere, a tombstone kept."""

    async def erase(self, user_id: int, contact_id: int, *, at: datetime) -> dict[str, int] | None:
        """In one transaction: the contact row and what links to it removed or scrubbed, the
        lists recounted, a tombstone (keyed hash of the address) recorded. The rows touched per
        table; None when the user has no such contact."""
        ...

    async def erased_among(self, user_id: int, emails: Sequence[str]) -> set[str]:
        """The lower-cased addresses among `emails` that this user erased before."""
        ...


class ContactExports(Protocol):
    async def open(self, user_id: int, contact_id: int) -> AsyncIterator[bytes] | None:
        """Everything held about the contact as one JSON document, in chunks read in batches
        from one consistent snapshot; None when the user has no such contact."""
        ...


__all__ = [
    "ContactErasures",
    "ContactExports",
    "ContactListRepository",
    "ContactRepository",
    "EmailAddresses",
]
