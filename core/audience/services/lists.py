"""Contact lists and their memberships, and the double opt-in sign-up rule.

A list's `total_contacts` counts its ACTIVE memberships; `active_contacts` those of them whose
contact is SUBSCRIBED (the ones a campaign to the list would reach). The repositories keep both
true in the transaction of every change.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from openmailer.core.accounts.model import Principal
from openmailer.core.audience import policies
from openmailer.core.audience.model import (
    Consent,
    Contact,
    ContactChanges,
    ContactList,
    ContactSource,
    ContactStatus,
    ListEdit,
    Member,
    MembersAdded,
    MembershipStatus,
    NewContact,
    Unset,
)
from openmailer.core.audience.services.contacts import (
    after_id_of,
    contact_not_found,
    prepare_contact,
)
from openmailer.core.errors import NotFound, ValidationError
from openmailer.core.pages import KeysetPage, Page, encode_cursor
from openmailer.core.ports.accounts import Clock
from openmailer.core.ports.audience import ContactListRepository, EmailAddresses
from openmailer.core.ports.unit_of_work import AudienceUnitOfWork

MAX_MEMBERS_PER_CALL = 10_000
MAX_CONTACT_ID = 2**63 - 1


def list_not_found(list_id: int) -> NotFound:
    return NotFound(f"no list {list_id}", code="list_not_found")


async def create_list(
    principal: Principal,
    name: str,
    *,
    description: str | None = None,
    double_opt_in: bool = True,
    lists: ContactListRepository,
) -> ContactList:
    return await lists.add(
        principal.user.id,
        policies.clean_list_name(name),
        policies.clean_description(description),
        double_opt_in,
    )


async def get_list(
    principal: Principal, list_id: int, *, lists: ContactListRepository
) -> ContactList:
    found = await lists.get(principal.user.id, list_id)
    if found is None:
        raise list_not_found(list_id)
    return found


async def page_of_lists(
    principal: Principal, *, limit: int, offset: int, lists: ContactListRepository
) -> Page[ContactList]:
    return await lists.page(principal.user.id, limit=limit, offset=offset)


async def update_list(
    principal: Principal, list_id: int, edit: ListEdit, *, lists: ContactListRepository
) -> ContactList:
    values: dict[str, Any] = {}
    if not isinstance(edit.name, Unset):
        values["name"] = policies.clean_list_name(edit.name)
    if not isinstance(edit.description, Unset):
        values["description"] = policies.clean_description(edit.description)
    if not isinstance(edit.double_opt_in_enabled, Unset):
        values["double_opt_in_enabled"] = edit.double_opt_in_enabled
    updated = await lists.update(principal.user.id, list_id, values)
    if updated is None:
        raise list_not_found(list_id)
    return updated


async def delete_list(principal: Principal, list_id: int, *, lists: ContactListRepository) -> None:
    if not await lists.delete(principal.user.id, list_id):
        raise list_not_found(list_id)


async def add_members(
    principal: Principal,
    list_id: int,
    *,
    contact_ids: list[int],
    emails: list[str],
    lists: ContactListRepository,
    addresses: EmailAddresses,
) -> MembersAdded:
    """Adds the caller's contacts, named by id or address; names of no contact are reported,
    not an error (a list is often filled from data that is partly stale)."""
    if len(contact_ids) + len(emails) > MAX_MEMBERS_PER_CALL:
        raise ValidationError(
            f"at most {MAX_MEMBERS_PER_CALL} contacts per call",
            field="contact_ids",
            code="too_many_members",
        )
    normalized = []
    for raw in emails:
        try:
            normalized.append(addresses.normalize(raw).lower())
        except ValidationError as error:
            raise ValidationError(
                f"{error.detail}: {raw[:100]!r}", field="emails", code=error.code
            ) from None
    # An id no row can have (ids are positive BIGINTs) names no contact, like an unknown one.
    possible = sorted({i for i in contact_ids if 1 <= i <= MAX_CONTACT_ID})
    result = await lists.add_members(
        principal.user.id, list_id, contact_ids=possible, emails=sorted(set(normalized))
    )
    if result is None:
        raise list_not_found(list_id)
    impossible = sorted({i for i in contact_ids if not 1 <= i <= MAX_CONTACT_ID})
    return replace(result, not_found_ids=sorted([*result.not_found_ids, *impossible]))


async def remove_member(
    principal: Principal, list_id: int, contact_id: int, *, lists: ContactListRepository
) -> None:
    if await lists.get(principal.user.id, list_id) is None:
        raise list_not_found(list_id)
    if not await lists.remove_member(principal.user.id, list_id, contact_id):
        raise NotFound(
            f"contact {contact_id} is not an active member of list {list_id}",
            code="membership_not_found",
        )


async def page_of_members(
    principal: Principal,
    list_id: int,
    *,
    status: MembershipStatus | None,
    cursor: str | None,
    limit: int,
    lists: ContactListRepository,
) -> KeysetPage[Member]:
    if await lists.get(principal.user.id, list_id) is None:
        raise list_not_found(list_id)
    rows = await lists.members(
        principal.user.id, list_id, status=status, after_id=after_id_of(cursor), limit=limit + 1
    )
    items = rows[:limit]
    more = len(rows) > limit
    cursor_out = encode_cursor([items[-1].contact.id]) if more else None
    return KeysetPage(items=items, limit=limit, next_cursor=cursor_out)


# --- double opt-in (the public form and its confirmation mail: core/recipients) -------------


async def sign_up_through_form(
    user_id: int,
    list_id: int,
    email: str,
    *,
    first_name: str | None = None,
    last_name: str | None = None,
    custom_fields: dict[str, Any] | None = None,
    consent: Consent | None = None,
    uow: AudienceUnitOfWork,
    addresses: EmailAddresses,
    clock: Clock,
) -> Contact:
    """A visitor's sign-up to one of `user_id`'s lists. On a double opt-in list the contact is
    PENDING with a `confirmation_token` (to be mailed) until `confirm_subscription`. The names,
    fields and consent are kept for a new contact only: an anonymous form must not rewrite what
    is held about an existing address."""
    async with uow:
        contact_list = await uow.lists.get(user_id, list_id)
        if contact_list is None:
            raise list_not_found(list_id)
        normalized = addresses.normalize(email)
        current = (await uow.contacts.find_by_emails(user_id, [normalized], lock=True)).get(
            normalized.lower()
        )
        status = policies.form_signup_status(
            contact_list, None if current is None else current.status
        )
        if current is None:
            draft = NewContact(
                email=normalized,
                status=status,
                first_name=first_name,
                last_name=last_name,
                source=ContactSource.WEB_FORM,
                custom_fields=dict(custom_fields or {}),
                consent=consent,
            )
            contact = await uow.contacts.add(
                user_id, prepare_contact(draft, addresses=addresses, clock=clock)
            )
        else:
            contact = await _hold_for_confirmation(uow, current, status)
        added = await uow.lists.add_members(user_id, list_id, contact_ids=[contact.id], emails=[])
        if added is None:
            raise list_not_found(list_id)
    return contact


async def _hold_for_confirmation(
    uow: AudienceUnitOfWork, current: Contact, status: ContactStatus
) -> Contact:
    if status is current.status and (
        status is not ContactStatus.PENDING or current.confirmation_token
    ):
        return current
    values: dict[str, Any] = {"status": status}
    if status is ContactStatus.PENDING and not current.confirmation_token:
        values["confirmation_token"] = policies.new_confirmation_token()
    updated = await uow.contacts.update(current.user_id, current.id, ContactChanges(values))
    if updated is None:
        raise contact_not_found(current.id)
    return updated


async def confirm_subscription(token: str, *, uow: AudienceUnitOfWork, clock: Clock) -> Contact:
    """The link of the confirmation mail: PENDING becomes SUBSCRIBED, the address verified,
    the token spent. An unknown or spent token is a plain 404."""
    async with uow:
        contact = await uow.contacts.find_by_confirmation_token(token)
        if contact is None or contact.status is not ContactStatus.PENDING:
            raise NotFound("unknown confirmation token", code="unknown_token")
        values = {
            "status": ContactStatus.SUBSCRIBED,
            "confirmed_at": clock.now(),
            "email_verified": True,
            "confirmation_token": None,
        }
        updated = await uow.contacts.update(contact.user_id, contact.id, ContactChanges(values))
    if updated is None:
        raise NotFound("unknown confirmation token", code="unknown_token")
    return updated
