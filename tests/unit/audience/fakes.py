"""In-memory fakes of the audience ports: one store shared by the contacts, the lists and a
unit of work that restores the store when its block fails. The lists' counts are derived from
the memberships on every read, the invariant the real repositories keep by recounting."""

from __future__ import annotations

import copy
import itertools
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

from openmailer.core.audience.model import (
    Contact,
    ContactChanges,
    ContactFilter,
    ContactList,
    ContactStatus,
    Member,
    MembersAdded,
    MembershipStatus,
    NewContact,
    StatusOverride,
    UpsertedContact,
)
from openmailer.core.errors import Conflict, ValidationError
from openmailer.core.pages import Page
from openmailer.core.ports.audience import ContactListRepository, ContactRepository, EmailAddresses
from openmailer.core.ports.unit_of_work import AudienceUnitOfWork

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


class FakeAddresses:
    """Enough of the real rule for the core's tests: trimmed, one `@`, domain lower-cased."""

    def normalize(self, raw: str) -> str:
        local, at, domain = raw.strip().rpartition("@")
        if not at or not local or "." not in domain or " " in raw.strip():
            raise ValidationError("not a valid email address", field="email", code="invalid_email")
        return f"{local}@{domain.lower()}"


@dataclass
class Store:
    contacts: dict[int, Contact] = field(default_factory=dict)
    lists: dict[int, ContactList] = field(default_factory=dict)
    memberships: dict[tuple[int, int], Member] = field(default_factory=dict)  # (list, contact)
    overrides: list[StatusOverride] = field(default_factory=list)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))


def _contact_of(contact_id: int, user_id: int, new: NewContact) -> Contact:
    consent = new.consent
    return Contact(
        id=contact_id,
        user_id=user_id,
        email=new.email,
        first_name=new.first_name,
        last_name=new.last_name,
        status=new.status,
        email_verified=False,
        source=new.source,
        tags=new.tags,
        custom_fields=new.custom_fields,
        gdpr_consent=bool(consent and consent.given),
        gdpr_consent_date=consent.date if consent else None,
        gdpr_ip_address=consent.ip_address if consent else None,
        confirmation_token=new.confirmation_token,
        confirmation_sent_at=None,
        confirmed_at=new.confirmed_at,
        unsubscribed_at=new.unsubscribed_at,
        bounce_count=0,
        complaint_count=0,
        created_at=NOW,
        updated_at=NOW,
    )


class InMemoryContactRepository:
    def __init__(self, store: Store) -> None:
        self.store = store

    def _by_address(self, user_id: int, email: str) -> Contact | None:
        return next(
            (
                c
                for c in self.store.contacts.values()
                if c.user_id == user_id and c.email.lower() == email.lower()
            ),
            None,
        )

    async def add(self, user_id: int, contact: NewContact) -> Contact:
        existing = self._by_address(user_id, contact.email)
        if existing is not None:
            raise Conflict(
                f"a contact with this address exists: id {existing.id}", code="contact_exists"
            )
        created = _contact_of(next(self.store.ids), user_id, contact)
        self.store.contacts[created.id] = created
        return created

    async def get(self, user_id: int, contact_id: int, *, lock: bool = False) -> Contact | None:
        found = self.store.contacts.get(contact_id)
        return found if found is not None and found.user_id == user_id else None

    async def find_by_emails(
        self, user_id: int, emails: Sequence[str], *, lock: bool = False
    ) -> dict[str, Contact]:
        found = (self._by_address(user_id, email) for email in emails)
        return {c.email.lower(): c for c in found if c is not None}

    async def find_by_confirmation_token(self, token: str) -> Contact | None:
        return next(
            (c for c in self.store.contacts.values() if c.confirmation_token == token), None
        )

    async def update(
        self, user_id: int, contact_id: int, changes: ContactChanges
    ) -> Contact | None:
        current = await self.get(user_id, contact_id)
        if current is None:
            return None
        values: dict[str, Any] = dict(changes.values)
        if "email" in values:
            other = self._by_address(user_id, values["email"])
            if other is not None and other.id != contact_id:
                raise Conflict(
                    f"a contact with this address exists: id {other.id}", code="contact_exists"
                )
        tags = set(current.tags if changes.replace_tags is None else changes.replace_tags)
        values["tags"] = tuple(sorted((tags | set(changes.add_tags)) - set(changes.remove_tags)))
        updated = replace(current, **values)
        self.store.contacts[contact_id] = updated
        for key, member in self.store.memberships.items():
            if key[1] == contact_id:
                self.store.memberships[key] = replace(member, contact=updated)
        return updated

    async def record_override(self, override: StatusOverride) -> None:
        self.store.overrides.append(override)

    async def delete(self, user_id: int, contact_id: int) -> bool:
        if await self.get(user_id, contact_id) is None:
            return False
        del self.store.contacts[contact_id]
        for key in [key for key in self.store.memberships if key[1] == contact_id]:
            del self.store.memberships[key]
        return True

    async def page(
        self, user_id: int, where: ContactFilter, *, after_id: int | None, limit: int
    ) -> list[Contact]:
        def matches(c: Contact) -> bool:
            member = self.store.memberships.get((where.list_id or 0, c.id))
            return (
                c.user_id == user_id
                and (after_id is None or c.id > after_id)
                and (where.status is None or c.status is where.status)
                and (where.tag is None or where.tag in c.tags)
                and (
                    where.email_prefix is None
                    or c.email.lower().startswith(where.email_prefix.lower())
                )
                and (
                    where.list_id is None
                    or (member is not None and member.status is MembershipStatus.ACTIVE)
                )
            )

        return sorted(filter(matches, self.store.contacts.values()), key=lambda c: c.id)[:limit]

    async def upsert_many(
        self, user_id: int, contacts: Sequence[NewContact]
    ) -> list[UpsertedContact]:
        written = []
        for new in contacts:
            existing = self._by_address(user_id, new.email)
            if existing is None:
                created = await self.add(user_id, new)
                written.append(UpsertedContact(created.id, created.email, True))
            else:
                updated = replace(_contact_of(existing.id, user_id, new), email=existing.email)
                self.store.contacts[existing.id] = updated
                written.append(UpsertedContact(existing.id, existing.email, False))
        return written


class InMemoryContactListRepository:
    def __init__(self, store: Store) -> None:
        self.store = store

    def _counted(self, contact_list: ContactList) -> ContactList:
        active = [
            member
            for (list_id, _), member in self.store.memberships.items()
            if list_id == contact_list.id and member.status is MembershipStatus.ACTIVE
        ]
        subscribed = [
            m
            for m in active
            if self.store.contacts[m.contact.id].status is ContactStatus.SUBSCRIBED
        ]
        return replace(contact_list, total_contacts=len(active), active_contacts=len(subscribed))

    async def add(
        self, user_id: int, name: str, description: str | None, double_opt_in: bool
    ) -> ContactList:
        for existing in self.store.lists.values():
            if existing.user_id == user_id and existing.name == name:
                raise Conflict(
                    f"a list named {name!r} exists: id {existing.id}", code="list_name_taken"
                )
        created = ContactList(
            next(self.store.ids), user_id, name, description, double_opt_in, 0, 0, NOW, NOW
        )
        self.store.lists[created.id] = created
        return created

    async def get(self, user_id: int, list_id: int) -> ContactList | None:
        found = self.store.lists.get(list_id)
        return self._counted(found) if found is not None and found.user_id == user_id else None

    async def page(self, user_id: int, *, limit: int, offset: int) -> Page[ContactList]:
        owned = sorted(
            (each for each in self.store.lists.values() if each.user_id == user_id),
            key=lambda each: each.id,
        )
        items = [self._counted(each) for each in owned[offset : offset + limit]]
        return Page(items=items, total=len(owned), limit=limit, offset=offset)

    async def update(
        self, user_id: int, list_id: int, values: dict[str, object]
    ) -> ContactList | None:
        current = await self.get(user_id, list_id)
        if current is None:
            return None
        updated = replace(current, **values)  # type: ignore[arg-type]
        self.store.lists[list_id] = updated
        return self._counted(updated)

    async def delete(self, user_id: int, list_id: int) -> bool:
        if await self.get(user_id, list_id) is None:
            return False
        del self.store.lists[list_id]
        return True

    async def add_members(
        self, user_id: int, list_id: int, *, contact_ids: Sequence[int], emails: Sequence[str]
    ) -> MembersAdded | None:
        if await self.get(user_id, list_id) is None:
            return None
        owned = {c.id: c for c in self.store.contacts.values() if c.user_id == user_id}
        found = {i for i in contact_ids if i in owned} | {
            c.id for c in owned.values() if c.email.lower() in emails
        }
        added, already = [], []
        for contact_id in sorted(found):
            member = self.store.memberships.get((list_id, contact_id))
            if member is not None and member.status is MembershipStatus.ACTIVE:
                already.append(contact_id)
                continue
            self.store.memberships[(list_id, contact_id)] = Member(
                owned[contact_id], list_id, MembershipStatus.ACTIVE, NOW, None
            )
            added.append(contact_id)
        addresses = {owned[i].email.lower() for i in found}
        return MembersAdded(
            added=added,
            already=already,
            not_found_ids=[i for i in contact_ids if i not in found],
            not_found_emails=[e for e in emails if e not in addresses],
        )

    async def remove_member(self, user_id: int, list_id: int, contact_id: int) -> bool:
        member = self.store.memberships.get((list_id, contact_id))
        if (
            member is None
            or member.status is not MembershipStatus.ACTIVE
            or await self.get(user_id, list_id) is None
        ):
            return False
        self.store.memberships[(list_id, contact_id)] = replace(
            member, status=MembershipStatus.REMOVED, unsubscribed_at=NOW
        )
        return True

    async def members(
        self,
        user_id: int,
        list_id: int,
        *,
        status: MembershipStatus | None,
        after_id: int | None,
        limit: int,
    ) -> list[Member]:
        rows = [
            m
            for (lid, cid), m in sorted(self.store.memberships.items())
            if lid == list_id
            and (status is None or m.status is status)
            and (after_id is None or cid > after_id)
        ]
        return rows[:limit]


class InMemoryAudienceUnitOfWork:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.contacts = InMemoryContactRepository(store)
        self.lists = InMemoryContactListRepository(store)
        self.rolled_back = False
        self._snapshot: Store | None = None

    async def __aenter__(self) -> Self:
        self._snapshot = copy.copy(self.store)
        self._snapshot.contacts = dict(self.store.contacts)
        self._snapshot.lists = dict(self.store.lists)
        self._snapshot.memberships = dict(self.store.memberships)
        self._snapshot.overrides = list(self.store.overrides)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._snapshot is not None
        if exc_type is not None:
            self.store.contacts = self._snapshot.contacts
            self.store.lists = self._snapshot.lists
            self.store.memberships = self._snapshot.memberships
            self.store.overrides = self._snapshot.overrides
            self.rolled_back = True


# The fakes satisfy the ports (checked by mypy when the tests are type-checked).
_store = Store()
_contacts: ContactRepository = InMemoryContactRepository(_store)
_lists: ContactListRepository = InMemoryContactListRepository(_store)
_uow: AudienceUnitOfWork = InMemoryAudienceUnitOfWork(_store)
_addresses: EmailAddresses = FakeAddresses()


class InMemoryContactErasures:
    """Tombstones as plain lower-cased addresses (the hashing is the adapter's)."""

    def __init__(self, store: Store) -> None:
        self.contacts = InMemoryContactRepository(store)
        self.erased: set[tuple[int, str]] = set()

    async def erase(self, user_id: int, contact_id: int, *, at: datetime) -> dict[str, int] | None:
        contact = await self.contacts.get(user_id, contact_id)
        if contact is None or not await self.contacts.delete(user_id, contact_id):
            return None
        self.erased.add((user_id, contact.email.lower()))
        return {"contacts": 1}

    async def erased_among(self, user_id: int, emails: Sequence[str]) -> set[str]:
        return {email.lower() for email in emails if (user_id, email.lower()) in self.erased}


class InMemoryContactExports:
    def __init__(self, store: Store) -> None:
        self.contacts = InMemoryContactRepository(store)

    async def open(self, user_id: int, contact_id: int) -> AsyncIterator[bytes] | None:
        contact = await self.contacts.get(user_id, contact_id)
        if contact is None:
            return None

        async def chunks() -> AsyncIterator[bytes]:
            yield f'{{"contact":{{"id":{contact.id}}}}}'.encode()

        return chunks()
