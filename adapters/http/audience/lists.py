"""`/api/v1/lists` and `/api/v1/lists/{list_id}/members` (`read:contacts` / `write:contacts`).

`total_contacts` is the list's ACTIVE memberships, `active_contacts` those whose contact is
SUBSCRIBED; both are kept exact in the transaction of every change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.params import JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from openmailer.adapters.http.audience.contacts import ContactRead, Limit
from openmailer.adapters.http.audience.dependencies import AUDIENCE_DEPENDENCIES, AudienceApi
from openmailer.adapters.http.audience.fields import (
    AfterCursor,
    Description,
    ListName,
)
from openmailer.adapters.http.pages import CursorPage, OffsetPage
from openmailer.adapters.http.pagination import (
    DEFAULT_LIMIT,
    PageParameters,
    ResourceId,
)
from openmailer.adapters.http.security import CurrentPrincipal, access
from openmailer.core.accounts.scopes import Scope
from openmailer.core.audience.model import (
    UNSET,
    ContactList,
    ListEdit,
    Member,
    MembersAdded,
    MembershipStatus,
)
from openmailer.core.audience.services.lists import MAX_MEMBERS_PER_CALL


class ListRead(msgspec.Struct):
    id: int
    name: str
    description: str | None
    double_opt_in_enabled: bool
    total_contacts: int
    active_contacts: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, contact_list: ContactList) -> ListRead:
        return cls(
            id=contact_list.id,
            name=contact_list.name,
            description=contact_list.description,
            double_opt_in_enabled=contact_list.double_opt_in_enabled,
            total_contacts=contact_list.total_contacts,
            active_contacts=contact_list.active_contacts,
            created_at=contact_list.created_at,
            updated_at=contact_list.updated_at,
        )


class ListCreate(msgspec.Struct):
    """`double_opt_in_enabled` (default true): sign-ups through a public form stay PENDING
    until they confirm."""

    name: ListName
    description: Description | None = None
    double_opt_in_enabled: bool = True


class ListUpdate(msgspec.Struct):
    """Omitted fields stay; `description: ""` clears it."""

    name: ListName | None = None
    description: Description | None = None
    double_opt_in_enabled: bool | None = None

    def edit(self) -> ListEdit:
        return ListEdit(
            name=UNSET if self.name is None else self.name,
            description=UNSET if self.description is None else (self.description or None),
            double_opt_in_enabled=(
                UNSET if self.double_opt_in_enabled is None else self.double_opt_in_enabled
            ),
        )


class MembersAdd(msgspec.Struct):
    """Contacts by id, by address, or both: at most 10,000 in all."""

    contact_ids: Annotated[list[int], msgspec.Meta(max_length=MAX_MEMBERS_PER_CALL)] = (
        msgspec.field(default_factory=list)
    )
    emails: Annotated[list[str], msgspec.Meta(max_length=MAX_MEMBERS_PER_CALL)] = msgspec.field(
        default_factory=list
    )


class MembersAddedRead(msgspec.Struct):
    """`added`: contact ids that became ACTIVE members; `already`: were; `not_found_*`: name
    no contact of the caller's."""

    added: list[int]
    already: list[int]
    not_found_ids: list[int]
    not_found_emails: list[str]

    @classmethod
    def of(cls, result: MembersAdded) -> MembersAddedRead:
        return cls(
            added=result.added,
            already=result.already,
            not_found_ids=result.not_found_ids,
            not_found_emails=result.not_found_emails,
        )


class MemberRead(msgspec.Struct):
    contact: ContactRead
    status: MembershipStatus
    subscribed_at: datetime | None
    unsubscribed_at: datetime | None

    @classmethod
    def of(cls, member: Member) -> MemberRead:
        return cls(
            contact=ContactRead.of(member.contact),
            status=member.status,
            subscribed_at=member.subscribed_at,
            unsubscribed_at=member.unsubscribed_at,
        )


class ListController(Controller):
    path = "/lists"
    tags = ["lists"]
    dependencies = AUDIENCE_DEPENDENCIES

    @post(
        "", operation_id="createList", status_code=HTTP_201_CREATED, **access(Scope.WRITE_CONTACTS)
    )
    async def create(
        self, principal: CurrentPrincipal, audience: AudienceApi, data: JSONBody[ListCreate]
    ) -> ListRead:
        """A new list; names are unique per user (409 `list_name_taken`)."""
        created = await audience.create_list(
            principal,
            data.name,
            description=data.description,
            double_opt_in=data.double_opt_in_enabled,
        )
        return ListRead.of(created)

    @get("", operation_id="listLists", **access(Scope.READ_CONTACTS))
    async def list_lists(
        self, principal: CurrentPrincipal, audience: AudienceApi, pagination: PageParameters
    ) -> OffsetPage[ListRead]:
        """The caller's lists, by id."""
        page = await audience.list_lists(
            principal, limit=pagination.limit, offset=pagination.offset
        )
        return OffsetPage.of(page, ListRead.of)

    @get("/{list_id:int}", operation_id="getList", **access(Scope.READ_CONTACTS))
    async def get_list(
        self, principal: CurrentPrincipal, audience: AudienceApi, list_id: ResourceId
    ) -> ListRead:
        return ListRead.of(await audience.get_list(principal, list_id))

    @patch("/{list_id:int}", operation_id="updateList", **access(Scope.WRITE_CONTACTS))
    async def update(
        self,
        principal: CurrentPrincipal,
        audience: AudienceApi,
        list_id: ResourceId,
        data: JSONBody[ListUpdate],
    ) -> ListRead:
        return ListRead.of(await audience.update_list(principal, list_id, data.edit()))

    @delete(
        "/{list_id:int}",
        operation_id="deleteList",
        status_code=HTTP_204_NO_CONTENT,
        **access(Scope.WRITE_CONTACTS),
    )
    async def delete_list(
        self, principal: CurrentPrincipal, audience: AudienceApi, list_id: ResourceId
    ) -> None:
        """Delete the list and its memberships; the contacts stay."""
        await audience.delete_list(principal, list_id)

    @post(
        "/{list_id:int}/members",
        operation_id="addListMembers",
        status_code=HTTP_200_OK,
        **access(Scope.WRITE_CONTACTS),
    )
    async def add_members(
        self,
        principal: CurrentPrincipal,
        audience: AudienceApi,
        list_id: ResourceId,
        data: JSONBody[MembersAdd],
    ) -> MembersAddedRead:
        """Add the caller's contacts (REMOVED members become ACTIVE again)."""
        result = await audience.add_members(
            principal, list_id, contact_ids=data.contact_ids, emails=data.emails
        )
        return MembersAddedRead.of(result)

    @get("/{list_id:int}/members", operation_id="listListMembers", **access(Scope.READ_CONTACTS))
    async def list_members(
        self,
        principal: CurrentPrincipal,
        audience: AudienceApi,
        list_id: ResourceId,
        after: AfterCursor = None,
        limit: Limit = DEFAULT_LIMIT,
        status: Annotated[
            MembershipStatus | None,
            QueryParameter(description="ACTIVE or REMOVED; both if omitted"),
        ] = None,
    ) -> CursorPage[MemberRead]:
        """The list's memberships by contact id, in keyset pages (`after`)."""
        page = await audience.list_members(
            principal, list_id, status=status, cursor=after, limit=limit
        )
        return CursorPage.of(page, MemberRead.of)

    @delete(
        "/{list_id:int}/members/{contact_id:int}",
        operation_id="removeListMember",
        status_code=HTTP_204_NO_CONTENT,
        **access(Scope.WRITE_CONTACTS),
    )
    async def remove_member(
        self,
        principal: CurrentPrincipal,
        audience: AudienceApi,
        list_id: ResourceId,
        contact_id: ResourceId,
    ) -> None:
        """The membership becomes REMOVED with `unsubscribed_at`; the row stays."""
        await audience.remove_member(principal, list_id, contact_id)
