"""Contacts: create, read, page, edit (through the status machine), delete."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from openmailer.core.accounts.model import Principal, in_utc
from openmailer.core.audience import policies
from openmailer.core.audience.model import (
    Consent,
    Contact,
    ContactChanges,
    ContactEdit,
    ContactFilter,
    ContactStatus,
    NewContact,
    StatusOverride,
    Unset,
)
from openmailer.core.audience.status import transition
from openmailer.core.errors import NotFound, ValidationError
from openmailer.core.pages import KeysetPage, decode_cursor, encode_cursor
from openmailer.core.ports.accounts import Clock
from openmailer.core.ports.audience import ContactErasures, ContactRepository, EmailAddresses
from openmailer.core.ports.unit_of_work import AudienceUnitOfWork


def contact_not_found(contact_id: int) -> NotFound:
    return NotFound(f"no contact {contact_id}", code="contact_not_found")


def erased_address(email: str) -> ValidationError:
    return ValidationError(
        f"{email} was erased at its owner's request and cannot be added again",
        field="email",
        code="erased_address",
    )


def prepare_contact(draft: NewContact, *, addresses: EmailAddresses, clock: Clock) -> NewContact:
    """A caller's contact with every rule applied: the address normalized, names, tags, custom
    fields and consent checked, the status's own dates and a confirmation token when PENDING."""
    now = clock.now()
    status = draft.status
    return replace(
        draft,
        email=addresses.normalize(draft.email),
        first_name=policies.clean_name(draft.first_name, field="first_name"),
        last_name=policies.clean_name(draft.last_name, field="last_name"),
        tags=policies.clean_tags(draft.tags),
        custom_fields=policies.check_custom_fields(draft.custom_fields),
        consent=None if draft.consent is None else policies.check_consent(draft.consent, now=now),
        confirmation_token=(
            draft.confirmation_token or policies.new_confirmation_token()
            if status is ContactStatus.PENDING
            else None
        ),
        unsubscribed_at=now if status is ContactStatus.UNSUBSCRIBED else None,
    )


async def create_contact(
    principal: Principal,
    draft: NewContact,
    *,
    contacts: ContactRepository,
    erasures: ContactErasures,
    addresses: EmailAddresses,
    clock: Clock,
) -> Contact:
    contact = prepare_contact(draft, addresses=addresses, clock=clock)
    if await erasures.erased_among(principal.user.id, [contact.email]):
        raise erased_address(contact.email)
    return await contacts.add(principal.user.id, contact)


async def get_contact(
    principal: Principal, contact_id: int, *, contacts: ContactRepository
) -> Contact:
    contact = await contacts.get(principal.user.id, contact_id)
    if contact is None:
        raise contact_not_found(contact_id)
    return contact


def after_id_of(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    (after,) = decode_cursor(cursor, arity=1)
    if not isinstance(after, int) or after < 0:
        raise ValidationError(
            "the cursor is malformed or expired", field="cursor", code="bad_cursor"
        )
    return after


async def page_of_contacts(
    principal: Principal,
    where: ContactFilter,
    *,
    cursor: str | None,
    limit: int,
    contacts: ContactRepository,
) -> KeysetPage[Contact]:
    if where.email_prefix is not None and "\x00" in where.email_prefix:
        raise ValidationError(
            "email_prefix may not contain NUL", field="email_prefix", code="invalid_text"
        )
    where = replace(
        where,
        tag=None if where.tag is None else policies.clean_tag(where.tag, field="tag"),
        created_from=where.created_from and in_utc(where.created_from, field="created_from"),
        created_to=where.created_to and in_utc(where.created_to, field="created_to"),
    )
    if where.created_from and where.created_to and where.created_from > where.created_to:
        raise ValidationError(
            "created_from is after created_to", field="created_from", code="empty_range"
        )
    rows = await contacts.page(
        principal.user.id, where, after_id=after_id_of(cursor), limit=limit + 1
    )
    items = rows[:limit]
    more = len(rows) > limit
    return KeysetPage(
        items=items, limit=limit, next_cursor=encode_cursor([items[-1].id]) if more else None
    )


def changes_of(
    current: Contact, edit: ContactEdit, *, addresses: EmailAddresses, clock: Clock
) -> tuple[ContactChanges, StatusOverride | None]:
    """The columns an edit writes, after every rule, and the override to record (if any)."""
    now = clock.now()
    values: dict[str, Any] = {}
    if not isinstance(edit.email, Unset):
        values["email"] = addresses.normalize(edit.email)
    if not isinstance(edit.first_name, Unset):
        values["first_name"] = policies.clean_name(edit.first_name, field="first_name")
    if not isinstance(edit.last_name, Unset):
        values["last_name"] = policies.clean_name(edit.last_name, field="last_name")
    if not isinstance(edit.source, Unset):
        values["source"] = edit.source
    if not isinstance(edit.custom_fields, Unset):
        values["custom_fields"] = policies.check_custom_fields(edit.custom_fields)
    if not isinstance(edit.consent, Unset):
        values.update(consent_values(policies.check_consent(edit.consent, now=now)))
    override = None
    if not isinstance(edit.status, Unset):
        move = transition(current.status, edit.status, override_reason=edit.status_override_reason)
        if move.changes:
            values["status"] = move.target
            if move.unsubscribes:
                values["unsubscribed_at"] = now
            if move.confirms:
                values["confirmed_at"] = now
            if move.target is ContactStatus.PENDING and current.confirmation_token is None:
                values["confirmation_token"] = policies.new_confirmation_token()
        if move.overridden:
            override = StatusOverride(
                contact_id=current.id,
                user_id=current.user_id,
                from_status=move.current,
                to_status=move.target,
                reason=(edit.status_override_reason or "").strip(),
                at=now,
            )
    replace_tags = None if isinstance(edit.tags, Unset) else policies.clean_tags(edit.tags)
    add_tags = policies.clean_tags(edit.add_tags, field="add_tags")
    remove_tags = policies.clean_tags(edit.remove_tags, field="remove_tags")
    final_tags = set(current.tags if replace_tags is None else replace_tags)
    if len((final_tags | set(add_tags)) - set(remove_tags)) > policies.MAX_TAGS:
        raise ValidationError(
            f"a contact has at most {policies.MAX_TAGS} tags", field="tags", code="too_many_tags"
        )
    changes = ContactChanges(
        values=values, add_tags=add_tags, remove_tags=remove_tags, replace_tags=replace_tags
    )
    return changes, override


async def update_contact(
    principal: Principal,
    contact_id: int,
    edit: ContactEdit,
    *,
    uow: AudienceUnitOfWork,
    addresses: EmailAddresses,
    clock: Clock,
) -> Contact:
    """Read, decide and write in one transaction with the row locked: two edits at once cannot
    both pass the status machine on the same old status."""
    async with uow:
        current = await uow.contacts.get(principal.user.id, contact_id, lock=True)
        if current is None:
            raise contact_not_found(contact_id)
        changes, override = changes_of(current, edit, addresses=addresses, clock=clock)
        updated = await uow.contacts.update(principal.user.id, contact_id, changes)
        if updated is None:
            raise contact_not_found(contact_id)
        if override is not None:
            await uow.contacts.record_override(override)
    return updated


async def delete_contact(
    principal: Principal, contact_id: int, *, contacts: ContactRepository
) -> None:
    if not await contacts.delete(principal.user.id, contact_id):
        raise contact_not_found(contact_id)


def consent_values(consent: Consent) -> dict[str, Any]:
    """The spec's three GDPR columns of a consent."""
    return {
        "gdpr_consent": consent.given,
        "gdpr_consent_date": consent.date,
        "gdpr_ip_address": consent.ip_address,
    }
