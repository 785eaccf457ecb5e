"""`/api/v1/contacts/{id}/export` and `/erase`: GDPR access and erasure of one contact."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.response import Stream
from litestar.status_codes import HTTP_200_OK

from openmailer.adapters.http.audience.dependencies import AUDIENCE_DEPENDENCIES, AudienceApi
from openmailer.adapters.http.pagination import ResourceId
from openmailer.adapters.http.security import CurrentPrincipal, access
from openmailer.core.accounts.scopes import Scope


class ContactExportRead(msgspec.Struct):
    """The document `export` streams (each array in id order; timestamps are UTC)."""

    contact: dict[str, Any]
    memberships: list[dict[str, Any]]
    campaign_recipients: list[dict[str, Any]]
    campaign_clicks: list[dict[str, Any]]
    email_logs: list[dict[str, Any]]
    webhook_events: list[dict[str, Any]]
    outbox_messages: list[dict[str, Any]]
    status_overrides: list[dict[str, Any]]


class ErasureRead(msgspec.Struct):
    """Rows removed (contacts and what cascades from them, outbox messages) or scrubbed (email
    logs, webhook events) per table."""

    contacts: int
    contact_list_memberships: int
    campaign_recipients: int
    campaign_clicks: int
    contact_status_overrides: int
    email_logs: int
    webhook_events: int
    outbox_messages: int


EXPORT_ACCESS = access(Scope.READ_CONTACTS)
# A Stream has no schema of its own: the document it writes is declared here.
EXPORT_ACCESS["responses"] = {
    **EXPORT_ACCESS["responses"],
    HTTP_200_OK: ResponseSpec(
        data_container=ContactExportRead, description="Everything held about the contact"
    ),
}


class ContactGdprController(Controller):
    path = "/contacts"
    tags = ["contacts"]
    dependencies = AUDIENCE_DEPENDENCIES

    @get(
        "/{contact_id:int}/export",
        operation_id="exportContact",
        media_type="application/json",
        **EXPORT_ACCESS,
    )
    async def export(
        self, principal: CurrentPrincipal, audience: AudienceApi, contact_id: ResourceId
    ) -> Stream:
        """Everything held about the contact as one JSON document (GDPR access): the row, its
        memberships, campaign recipients and clicks, email logs, webhook events naming the
        address and outbox messages. Written as it is read, in chunks."""
        chunks = await audience.export_contact(principal, contact_id)
        return Stream(chunks, media_type="application/json")

    @post(
        "/{contact_id:int}/erase",
        operation_id="eraseContact",
        status_code=HTTP_200_OK,
        **access(Scope.WRITE_CONTACTS),
    )
    async def erase(
        self, principal: CurrentPrincipal, audience: AudienceApi, contact_id: ResourceId
    ) -> ErasureRead:
        """Erase the contact's personal data everywhere, in one transaction (GDPR erasure), and
        keep a keyed hash of the address: creating it again answers 422 `erased_address`.
        Erasing twice is 404."""
        return ErasureRead(**await audience.erase_contact(principal, contact_id))
