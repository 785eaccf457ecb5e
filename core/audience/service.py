"""The audience area bound to its ports once: what controllers, actors and commands call.

`AudiencePorts` is typed by the Protocols only: the composition root binds PostgreSQL and the
address validator, tests bind the in-memory fakes. Every way in for a contact (one, a batch, a
public form) asks `erasures` first: an erased address is not added again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from openmailer.core.accounts.model import Principal
from openmailer.core.audience.model import (
    BatchItem,
    BatchItemResult,
    Consent,
    Contact,
    ContactEdit,
    ContactFilter,
    ContactList,
    ListEdit,
    Member,
    MembersAdded,
    MembershipStatus,
    NewContact,
)
from openmailer.core.audience.services import batch, contacts, gdpr, lists
from openmailer.core.pages import KeysetPage, Page
from openmailer.core.ports.accounts import Clock
from openmailer.core.ports.audience import (
    ContactErasures,
    ContactExports,
    ContactListRepository,
    ContactRepository,
    EmailAddresses,
)
from openmailer.core.ports.unit_of_work import AudienceUnitOfWork


@dataclass(frozen=True)
class AudiencePorts:
    contacts: ContactRepository
    lists: ContactListRepository
    addresses: EmailAddresses
    clock: Clock
    unit_of_work: Callable[[], AudienceUnitOfWork]
    erasures: ContactErasures
    exports: ContactExports


class AudienceService:
    def __init__(self, ports: AudiencePorts) -> None:
        self.ports = ports

    # --- contacts -----------------------------------------------------------------------------

    async def create_contact(self, principal: Principal, draft: NewContact) -> Contact:
        p = self.ports
        return await contacts.create_contact(
            principal,
            draft,
            contacts=p.contacts,
            erasures=p.erasures,
            addresses=p.addresses,
            clock=p.clock,
        )

    async def get_contact(self, principal: Principal, contact_id: int) -> Contact:
        return await contacts.get_contact(principal, contact_id, contacts=self.ports.contacts)

    async def list_contacts(
        self, principal: Principal, where: ContactFilter, *, cursor: str | None, limit: int
    ) -> KeysetPage[Contact]:
        return await contacts.page_of_contacts(
            principal, where, cursor=cursor, limit=limit, contacts=self.ports.contacts
        )

    async def update_contact(
        self, principal: Principal, contact_id: int, edit: ContactEdit
    ) -> Contact:
        p = self.ports
        return await contacts.update_contact(
            principal,
            contact_id,
            edit,
            uow=p.unit_of_work(),
            addresses=p.addresses,
            clock=p.clock,
        )

    async def delete_contact(self, principal: Principal, contact_id: int) -> None:
        await contacts.delete_contact(principal, contact_id, contacts=self.ports.contacts)

    async def upsert_contacts(
        self, principal: Principal, items: list[BatchItem]
    ) -> list[BatchItemResult]:
        p = self.ports
        return await batch.upsert_contacts(
            principal,
            items,
            uow=p.unit_of_work(),
            erasures=p.erasures,
            addresses=p.addresses,
            clock=p.clock,
        )

    # --- GDPR ---------------------------------------------------------------------------------

    async def export_contact(self, principal: Principal, contact_id: int) -> AsyncIterator[bytes]:
        return await gdpr.export_contact(principal, contact_id, exports=self.ports.exports)

    async def erase_contact(self, principal: Principal, contact_id: int) -> dict[str, int]:
        return await gdpr.erase_contact(
            principal, contact_id, erasures=self.ports.erasures, clock=self.ports.clock
        )

    # --- lists and members --------------------------------------------------------------------

    async def create_list(
        self,
        principal: Principal,
        name: str,
        *,
        description: str | None = None,
        double_opt_in: bool = True,
    ) -> ContactList:
        return await lists.create_list(
            principal,
            name,
            description=description,
            double_opt_in=double_opt_in,
            lists=self.ports.lists,
        )

    async def get_list(self, principal: Principal, list_id: int) -> ContactList:
        return await lists.get_list(principal, list_id, lists=self.ports.lists)

    async def list_lists(
        self, principal: Principal, *, limit: int, offset: int
    ) -> Page[ContactList]:
        return await lists.page_of_lists(
            principal, limit=limit, offset=offset, lists=self.ports.lists
        )

    async def update_list(self, principal: Principal, list_id: int, edit: ListEdit) -> ContactList:
        return await lists.update_list(principal, list_id, edit, lists=self.ports.lists)

    async def delete_list(self, principal: Principal, list_id: int) -> None:
        await lists.delete_list(principal, list_id, lists=self.ports.lists)

    async def add_members(
        self, principal: Principal, list_id: int, *, contact_ids: list[int], emails: list[str]
    ) -> MembersAdded:
        return await lists.add_members(
            principal,
            list_id,
            contact_ids=contact_ids,
            emails=emails,
            lists=self.ports.lists,
            addresses=self.ports.addresses,
        )

    async def remove_member(self, principal: Principal, list_id: int, contact_id: int) -> None:
        await lists.remove_member(principal, list_id, contact_id, lists=self.ports.lists)

    async def list_members(
        self,
        principal: Principal,
        list_id: int,
        *,
        status: MembershipStatus | None,
        cursor: str | None,
        limit: int,
    ) -> KeysetPage[Member]:
        return await lists.page_of_members(
            principal, list_id, status=status, cursor=cursor, limit=limit, lists=self.ports.lists
        )

    # --- double opt-in ------------------------------------------------------------------------

    async def sign_up_through_form(
        self,
        user_id: int,
        list_id: int,
        email: str,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        custom_fields: dict[str, Any] | None = None,
        consent: Consent | None = None,
    ) -> Contact:
        p = self.ports
        await gdpr.refuse_erased(user_id, p.addresses.normalize(email), erasures=p.erasures)
        return await lists.sign_up_through_form(
            user_id,
            list_id,
            email,
            first_name=first_name,
            last_name=last_name,
            custom_fields=custom_fields,
            consent=consent,
            uow=p.unit_of_work(),
            addresses=p.addresses,
            clock=p.clock,
        )

    async def confirm_subscription(self, token: str) -> Contact:
        return await lists.confirm_subscription(
            token, uow=self.ports.unit_of_work(), clock=self.ports.clock
        )
