"""`/api/v1/outbox`: what the OUTBOX provider kept instead of delivering, newest first.

One message answers JSON (its raw MIME as text and, byte for byte, in base64) or, with
`Accept: message/rfc822`, the raw message itself, exactly as it would have left.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, Operation, Schema
from litestar.openapi.spec.enums import OpenAPIType
from litestar.params import Parameter

from openmailer.adapters.http.pages import CursorPage
from openmailer.adapters.http.pagination import DEFAULT_LIMIT, MAX_LIMIT, ResourceId
from openmailer.adapters.http.security import CurrentPrincipal, access
from openmailer.adapters.http.sending.dependencies import SENDING_DEPENDENCIES, SendingApi
from openmailer.core.accounts.scopes import Scope
from openmailer.core.pages import MAX_CURSOR_CHARS
from openmailer.core.sending.model import OutboxMessage

RFC822 = "message/rfc822"


class OutboxSummary(msgspec.Struct):
    id: int
    recipient: str
    subject: str
    message_id: str
    campaign_id: int | None
    provider_id: int | None
    sent_at: datetime

    @classmethod
    def of(cls, message: OutboxMessage) -> OutboxSummary:
        return cls(
            id=message.id,
            recipient=message.recipient,
            subject=message.subject,
            message_id=message.message_id,
            campaign_id=message.campaign_id,
            provider_id=message.provider_id,
            sent_at=message.sent_at,
        )


class OutboxMessageRead(msgspec.Struct):
    """`raw` is the message as text (bytes that are not UTF-8 shown as U+FFFD); `raw_base64`
    is exactly the bytes that would have left."""

    id: int
    recipient: str
    subject: str
    message_id: str
    campaign_id: int | None
    provider_id: int | None
    sent_at: datetime
    raw: str
    raw_base64: str

    @classmethod
    def of(cls, message: OutboxMessage) -> OutboxMessageRead:
        raw = message.raw or b""
        return cls(
            id=message.id,
            recipient=message.recipient,
            subject=message.subject,
            message_id=message.message_id,
            campaign_id=message.campaign_id,
            provider_id=message.provider_id,
            sent_at=message.sent_at,
            raw=raw.decode("utf-8", errors="replace"),
            raw_base64=base64.b64encode(raw).decode(),
        )


@dataclass
class AlsoRawMessage(Operation):
    """Documents the `message/rfc822` form of the 200 answer beside its JSON."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        if isinstance(ok, OpenAPIResponse) and ok.content is not None:
            ok.content[RFC822] = OpenAPIMediaType(
                schema=Schema(type=OpenAPIType.STRING, content_media_type=RFC822)
            )


class OutboxController(Controller):
    path = "/outbox"
    tags = ["outbox"]
    dependencies = SENDING_DEPENDENCIES

    @get("", operation_id="listOutbox", **access(Scope.READ_CAMPAIGNS))
    async def list_messages(
        self,
        principal: CurrentPrincipal,
        sending: SendingApi,
        limit: Annotated[
            int, Parameter(ge=1, le=MAX_LIMIT, description="page size")
        ] = DEFAULT_LIMIT,
        cursor: Annotated[
            str | None,
            Parameter(
                max_length=MAX_CURSOR_CHARS,
                description="`next_cursor` of the previous page",
            ),
        ] = None,
    ) -> CursorPage[OutboxSummary]:
        """What the outbox kept for the caller, newest first (recipient, subject, time,
        campaign)."""
        page = await sending.list_outbox(principal, limit=limit, cursor=cursor)
        return CursorPage.of(page, OutboxSummary.of)

    @get(
        "/{outbox_id:int}",
        operation_id="getOutboxMessage",
        operation_class=AlsoRawMessage,
        **access(Scope.READ_CAMPAIGNS),
    )
    async def get_message(
        self,
        request: Request[Any, Any, Any],
        principal: CurrentPrincipal,
        sending: SendingApi,
        outbox_id: ResourceId,
    ) -> Response[OutboxMessageRead]:
        """One kept message with its raw MIME; `Accept: message/rfc822` answers the raw
        message alone, exactly as it would have left."""
        message = await sending.get_outbox_message(principal, outbox_id)
        if request.accept.best_match(["application/json", RFC822]) == RFC822:
            raw: Any = message.raw or b""
            return Response(raw, media_type=RFC822)
        return Response(OutboxMessageRead.of(message))
