"""Batch upsert of contacts by address: every item checked in the core, then one statement.

Up to `MAX_BATCH` items. Each gets a result: created, updated, or rejected with the reason
(invalid input, an address twice in the batch, an erased address, a status move that needs an
override, which a batch cannot give). Rejected items are not written; the others are, together.
"""

from __future__ import annotations

from dataclasses import replace

from openmailer.core.accounts.model import Principal
from openmailer.core.audience.model import (
    BatchItem,
    BatchItemResult,
    BatchOutcome,
    Consent,
    Contact,
    ContactSource,
    ContactStatus,
    NewContact,
)
from openmailer.core.audience.services.contacts import erased_address, prepare_contact
from openmailer.core.audience.status import transition
from openmailer.core.errors import DomainError, ValidationError
from openmailer.core.ports.accounts import Clock
from openmailer.core.ports.audience import ContactErasures, EmailAddresses
from openmailer.core.ports.unit_of_work import AudienceUnitOfWork

MAX_BATCH = 1_000
DEFAULT_STATUS = ContactStatus.SUBSCRIBED


def merged_with(
    existing: Contact, item: BatchItem, *, addresses: EmailAddresses, clock: Clock
) -> NewContact:
    """The whole row an existing contact becomes: given fields replace, tags add up."""
    now = clock.now()
    move = transition(existing.status, item.status or existing.status)
    draft = NewContact(
        email=item.email,
        status=move.target,
        first_name=item.first_name if item.first_name is not None else existing.first_name,
        last_name=item.last_name if item.last_name is not None else existing.last_name,
        source=item.source or existing.source or ContactSource.API,
        tags=(*existing.tags, *item.tags),
        custom_fields=(
            item.custom_fields if item.custom_fields is not None else existing.custom_fields
        ),
        consent=item.consent,
    )
    checked = prepare_contact(draft, addresses=addresses, clock=clock)
    return replace(
        checked,
        email=existing.email,
        consent=checked.consent if item.consent is not None else _consent_of(existing),
        confirmation_token=existing.confirmation_token or checked.confirmation_token,
        confirmed_at=now if move.confirms else existing.confirmed_at,
        unsubscribed_at=now if move.unsubscribes else existing.unsubscribed_at,
    )


def _consent_of(contact: Contact) -> Consent:
    return Consent(
        given=contact.gdpr_consent,
        date=contact.gdpr_consent_date,
        ip_address=contact.gdpr_ip_address,
    )


def new_from(item: BatchItem, *, addresses: EmailAddresses, clock: Clock) -> NewContact:
    draft = NewContact(
        email=item.email,
        status=item.status or DEFAULT_STATUS,
        first_name=item.first_name,
        last_name=item.last_name,
        source=item.source or ContactSource.API,
        tags=item.tags,
        custom_fields=item.custom_fields or {},
        consent=item.consent,
    )
    return prepare_contact(draft, addresses=addresses, clock=clock)


def _rejected(index: int, email: str | None, error: DomainError) -> BatchItemResult:
    return BatchItemResult(
        index=index,
        outcome=BatchOutcome.REJECTED,
        email=email,
        code=error.code,
        detail=error.detail,
    )


async def upsert_contacts(
    principal: Principal,
    items: list[BatchItem],
    *,
    uow: AudienceUnitOfWork,
    erasures: ContactErasures,
    addresses: EmailAddresses,
    clock: Clock,
) -> list[BatchItemResult]:
    if len(items) > MAX_BATCH:
        raise ValidationError(
            f"a batch holds at most {MAX_BATCH} contacts", field="contacts", code="batch_too_large"
        )
    results: dict[int, BatchItemResult] = {}
    accepted: dict[str, tuple[int, BatchItem]] = {}  # lower-cased address -> (index, item)
    for index, item in enumerate(items):
        try:
            email = addresses.normalize(item.email)
        except ValidationError as error:
            results[index] = _rejected(index, None, error)
            continue
        key = email.lower()
        if key in accepted:
            duplicate = ValidationError(
                f"{email} is also item {accepted[key][0]} of this batch",
                field="email",
                code="duplicate_in_batch",
            )
            results[index] = _rejected(index, email, duplicate)
            continue
        accepted[key] = (index, replace(item, email=email))
    user_id = principal.user.id
    for key in await erasures.erased_among(user_id, list(accepted)) if accepted else ():
        index, item = accepted.pop(key)
        results[index] = _rejected(index, item.email, erased_address(item.email))
    async with uow:
        existing = await uow.contacts.find_by_emails(user_id, list(accepted), lock=True)
        rows: list[NewContact] = []
        for key, (index, item) in accepted.items():
            try:
                current = existing.get(key)
                rows.append(
                    new_from(item, addresses=addresses, clock=clock)
                    if current is None
                    else merged_with(current, item, addresses=addresses, clock=clock)
                )
            except DomainError as error:
                results[index] = _rejected(index, item.email, error)
        written = await uow.contacts.upsert_many(user_id, rows) if rows else []
    for contact in written:
        index, _ = accepted[contact.email.lower()]
        outcome = BatchOutcome.CREATED if contact.created else BatchOutcome.UPDATED
        results[index] = BatchItemResult(
            index=index, outcome=outcome, email=contact.email, contact_id=contact.id
        )
    return [results[index] for index in range(len(items))]
