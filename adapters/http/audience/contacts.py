"""`/api/v1/contacts`: the caller's contacts (`read:contacts` / `write:contacts`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.params import JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from openmailer.adapters.http.audience.dependencies import AUDIENCE_DEPENDENCIES, AudienceApi
from openmailer.adapters.http.audience.fields import (
    QUERY_DATE_TIME,
    AfterCursor,
    AwareDateTimeText,
    CustomFields,
    EmailInput,
    IpAddress,
    OverrideReason,
    PersonName,
    Tags,
    parse_time,
)
from openmailer.adapters.http.pages import CursorPage
from openmailer.adapters.http.pagination import DEFAULT_LIMIT, MAX_ID, MAX_LIMIT, ResourceId
from openmailer.adapters.http.security import CurrentPrincipal, access
from openmailer.core.accounts.scopes import Scope
from openmailer.core.audience import policies
from openmailer.core.audience.model import (
    UNSET,
    BatchItem,
    BatchItemResult,
    Consent,
    Contact,
    ContactEdit,
    ContactFilter,
    ContactSource,
    ContactStatus,
    NewContact,
)
from openmailer.core.audience.services.batch import MAX_BATCH


class ContactRead(msgspec.Struct):
    id: int
    email: str
    first_name: str | None
    last_name: str | None
    status: ContactStatus
    email_verified: bool
    source: ContactSource | None
    tags: list[str]
    custom_fields: dict[str, Any]
    gdpr_consent: bool
    gdpr_consent_date: datetime | None
    gdpr_ip_address: str | None
    confirmed_at: datetime | None
    unsubscribed_at: datetime | None
    bounce_count: int
    complaint_count: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, contact: Contact) -> ContactRead:
        return cls(
            id=contact.id,
            email=contact.email,
            first_name=contact.first_name,
            last_name=contact.last_name,
            status=contact.status,
            email_verified=contact.email_verified,
            source=contact.source,
            tags=list(contact.tags),
            custom_fields=contact.custom_fields,
            gdpr_consent=contact.gdpr_consent,
            gdpr_consent_date=contact.gdpr_consent_date,
            gdpr_ip_address=contact.gdpr_ip_address,
            confirmed_at=contact.confirmed_at,
            unsubscribed_at=contact.unsubscribed_at,
            bounce_count=contact.bounce_count,
            complaint_count=contact.complaint_count,
            created_at=contact.created_at,
            updated_at=contact.updated_at,
        )


class ContactCreate(msgspec.Struct):
    """A new contact; `status` defaults to SUBSCRIBED (the API caller vouches for consent;
    public forms to double opt-in lists make PENDING contacts instead)."""

    email: EmailInput
    first_name: PersonName | None = None
    last_name: PersonName | None = None
    status: ContactStatus = ContactStatus.SUBSCRIBED
    source: ContactSource = ContactSource.API
    tags: Tags = msgspec.field(default_factory=list)
    custom_fields: CustomFields = msgspec.field(default_factory=dict)
    gdpr_consent: bool = False
    gdpr_consent_date: AwareDateTimeText | None = None
    gdpr_ip_address: IpAddress | None = None

    def consent_date(self) -> datetime | None:
        return parse_time(self.gdpr_consent_date, field="gdpr_consent_date")

    def draft(self) -> NewContact:
        return NewContact(
            email=self.email,
            status=self.status,
            first_name=self.first_name,
            last_name=self.last_name,
            source=self.source,
            tags=tuple(self.tags),
            custom_fields=self.custom_fields,
            consent=Consent(self.gdpr_consent, self.consent_date(), self.gdpr_ip_address),
        )


class ContactUpdate(msgspec.Struct):
    """Omitted fields stay; `""` clears a name. `tags` replaces the tags, `add_tags` and
    `remove_tags` change them without sending the rest. A BOUNCED or COMPLAINED contact becomes
    SUBSCRIBED or PENDING only with `status_override_reason`, which is recorded."""

    email: EmailInput | None = None
    first_name: PersonName | None = None
    last_name: PersonName | None = None
    status: ContactStatus | None = None
    status_override_reason: OverrideReason | None = None
    source: ContactSource | None = None
    tags: Tags | None = None
    add_tags: Tags = msgspec.field(default_factory=list)
    remove_tags: Tags = msgspec.field(default_factory=list)
    custom_fields: CustomFields | None = None
    gdpr_consent: bool | None = None
    gdpr_consent_date: AwareDateTimeText | None = None
    gdpr_ip_address: IpAddress | None = None

    def consent_date(self) -> datetime | None:
        return parse_time(self.gdpr_consent_date, field="gdpr_consent_date")

    def edit(self) -> ContactEdit:
        consent = (
            UNSET
            if self.gdpr_consent is None
            else Consent(self.gdpr_consent, self.consent_date(), self.gdpr_ip_address)
        )
        return ContactEdit(
            email=UNSET if self.email is None else self.email,
            first_name=UNSET if self.first_name is None else self.first_name,
            last_name=UNSET if self.last_name is None else self.last_name,
            status=UNSET if self.status is None else self.status,
            status_override_reason=self.status_override_reason,
            source=UNSET if self.source is None else self.source,
            tags=UNSET if self.tags is None else tuple(self.tags),
            add_tags=tuple(self.add_tags),
            remove_tags=tuple(self.remove_tags),
            custom_fields=UNSET if self.custom_fields is None else self.custom_fields,
            consent=consent,
        )


class ContactBatchItem(msgspec.Struct):
    """Upserted by `email`. For an existing contact, omitted fields stay and `tags` are added."""

    email: EmailInput
    first_name: PersonName | None = None
    last_name: PersonName | None = None
    status: ContactStatus | None = None
    source: ContactSource | None = None
    tags: Tags = msgspec.field(default_factory=list)
    custom_fields: CustomFields | None = None
    gdpr_consent: bool | None = None
    gdpr_consent_date: AwareDateTimeText | None = None
    gdpr_ip_address: IpAddress | None = None

    def consent_date(self) -> datetime | None:
        return parse_time(self.gdpr_consent_date, field="gdpr_consent_date")

    def item(self) -> BatchItem:
        consent = (
            None
            if self.gdpr_consent is None
            else Consent(self.gdpr_consent, self.consent_date(), self.gdpr_ip_address)
        )
        return BatchItem(
            email=self.email,
            first_name=self.first_name,
            last_name=self.last_name,
            status=self.status,
            source=self.source,
            tags=tuple(self.tags),
            custom_fields=self.custom_fields,
            consent=consent,
        )


class ContactBatch(msgspec.Struct):
    contacts: Annotated[list[ContactBatchItem], msgspec.Meta(min_length=1, max_length=MAX_BATCH)]


class BatchItemRead(msgspec.Struct):
    """`index` is the item's position in the request; `outcome` created, updated or rejected
    (with `code` and `detail`)."""

    index: int
    outcome: str
    email: str | None
    contact_id: int | None
    code: str | None
    detail: str | None

    @classmethod
    def of(cls, result: BatchItemResult) -> BatchItemRead:
        return cls(
            index=result.index,
            outcome=result.outcome.value,
            email=result.email,
            contact_id=result.contact_id,
            code=result.code,
            detail=result.detail,
        )


class BatchRead(msgspec.Struct):
    created: int
    updated: int
    rejected: int
    results: list[BatchItemRead]

    @classmethod
    def of(cls, results: list[BatchItemResult]) -> BatchRead:
        outcomes = [result.outcome.value for result in results]
        return cls(
            created=outcomes.count("created"),
            updated=outcomes.count("updated"),
            rejected=outcomes.count("rejected"),
            results=[BatchItemRead.of(result) for result in results],
        )


Limit = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT, description="page size")]


class ContactController(Controller):
    path = "/contacts"
    tags = ["contacts"]
    dependencies = AUDIENCE_DEPENDENCIES

    @post(
        "",
        operation_id="createContact",
        status_code=HTTP_201_CREATED,
        **access(Scope.WRITE_CONTACTS),
    )
    async def create(
        self, principal: CurrentPrincipal, audience: AudienceApi, data: JSONBody[ContactCreate]
    ) -> ContactRead:
        """A new contact. The address is trimmed, its domain lower-cased and IDNA-encoded; one
        contact per address (ignoring case): a second is 409 `contact_exists` naming the id."""
        return ContactRead.of(await audience.create_contact(principal, data.draft()))

    @get("", operation_id="listContacts", **access(Scope.READ_CONTACTS))
    async def list_contacts(
        self,
        principal: CurrentPrincipal,
        audience: AudienceApi,
        after: AfterCursor = None,
        limit: Limit = DEFAULT_LIMIT,
        status: Annotated[
            ContactStatus | None, QueryParameter(description="contacts in this status")
        ] = None,
        tag: Annotated[
            str | None,
            QueryParameter(
                min_length=1,
                max_length=policies.MAX_TAG_CHARS,
                description="contacts with this tag",
            ),
        ] = None,
        list_id: Annotated[
            int | None, QueryParameter(ge=1, le=MAX_ID, description="ACTIVE members of this list")
        ] = None,
        email_prefix: Annotated[
            str | None,
            QueryParameter(
                min_length=1, max_length=255, description="addresses starting so, any case"
            ),
        ] = None,
        created_from: Annotated[
            str | None,
            QueryParameter(
                pattern=QUERY_DATE_TIME, description="created at or after (UTC if no offset)"
            ),
        ] = None,
        created_to: Annotated[
            str | None,
            QueryParameter(
                pattern=QUERY_DATE_TIME, description="created before (UTC if no offset)"
            ),
        ] = None,
    ) -> CursorPage[ContactRead]:
        """The caller's contacts by id, in keyset pages: pass `next_cursor` as `after`."""
        where = ContactFilter(
            status=status,
            tag=tag,
            list_id=list_id,
            email_prefix=email_prefix,
            created_from=parse_time(created_from, field="created_from"),
            created_to=parse_time(created_to, field="created_to"),
        )
        page = await audience.list_contacts(principal, where, cursor=after, limit=limit)
        return CursorPage.of(page, ContactRead.of)

    @post(
        "/batch",
        operation_id="upsertContacts",
        status_code=HTTP_200_OK,
        **access(Scope.WRITE_CONTACTS),
    )
    async def batch(
        self, principal: CurrentPrincipal, audience: AudienceApi, data: JSONBody[ContactBatch]
    ) -> BatchRead:
        """Up to 1,000 contacts created or updated by address in one statement, with a result
        per item; rejected items are not written, the others are."""
        results = await audience.upsert_contacts(principal, [item.item() for item in data.contacts])
        return BatchRead.of(results)

    @get("/{contact_id:int}", operation_id="getContact", **access(Scope.READ_CONTACTS))
    async def get_contact(
        self, principal: CurrentPrincipal, audience: AudienceApi, contact_id: ResourceId
    ) -> ContactRead:
        return ContactRead.of(await audience.get_contact(principal, contact_id))

    @patch("/{contact_id:int}", operation_id="updateContact", **access(Scope.WRITE_CONTACTS))
    async def update(
        self,
        principal: CurrentPrincipal,
        audience: AudienceApi,
        contact_id: ResourceId,
        data: JSONBody[ContactUpdate],
    ) -> ContactRead:
        """Change some fields; status moves follow the contact state machine (422
        `status_override_required` for BOUNCED/COMPLAINED → SUBSCRIBED/PENDING without a
        reason)."""
        return ContactRead.of(await audience.update_contact(principal, contact_id, data.edit()))

    @delete(
        "/{contact_id:int}",
        operation_id="deleteContact",
        status_code=HTTP_204_NO_CONTENT,
        **access(Scope.WRITE_CONTACTS),
    )
    async def delete_contact(
        self, principal: CurrentPrincipal, audience: AudienceApi, contact_id: ResourceId
    ) -> None:
        """Delete the contact and its memberships; the lists' counts follow."""
        await audience.delete_contact(principal, contact_id)
