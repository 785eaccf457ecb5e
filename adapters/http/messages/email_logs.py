"""`/api/v1/email-logs`: what was sent for the caller, newest first (`read:analytics`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, get
from litestar.params import QueryParameter

from openmailer.adapters.http.audience.fields import QUERY_DATE_TIME, AfterCursor, parse_time
from openmailer.adapters.http.messages.dependencies import MESSAGES_DEPENDENCIES, MessagesApi
from openmailer.adapters.http.pages import CursorPage
from openmailer.adapters.http.pagination import DEFAULT_LIMIT, MAX_LIMIT
from openmailer.adapters.http.security import CurrentPrincipal, access
from openmailer.core.accounts.scopes import Scope
from openmailer.core.errors import ValidationError
from openmailer.core.messages.model import EmailLogEntry, EmailLogFilter, EmailStatus, EmailType


class EmailLogRead(msgspec.Struct):
    id: int
    email_type: str
    recipient_email: str
    subject: str | None
    status: str
    campaign_id: int | None
    provider_id: int | None
    provider_message_id: str | None
    error_message: str | None
    sent_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, entry: EmailLogEntry) -> EmailLogRead:
        return cls(
            id=entry.id,
            email_type=entry.email_type,
            recipient_email=entry.recipient_email,
            subject=entry.subject,
            status=entry.status,
            campaign_id=entry.campaign_id,
            provider_id=entry.provider_id,
            provider_message_id=entry.provider_message_id,
            error_message=entry.error_message,
            sent_at=entry.sent_at,
            delivered_at=entry.delivered_at,
            created_at=entry.created_at,
        )


class EmailLogController(Controller):
    path = "/email-logs"
    tags = ["messages"]
    dependencies = MESSAGES_DEPENDENCIES

    @get("", operation_id="listEmailLogs", **access(Scope.READ_ANALYTICS))
    async def list_logs(
        self,
        principal: CurrentPrincipal,
        messages: MessagesApi,
        after: AfterCursor = None,
        limit: Annotated[
            int, QueryParameter(ge=1, le=MAX_LIMIT, description="page size")
        ] = DEFAULT_LIMIT,
        status: Annotated[EmailStatus | None, QueryParameter(description="in this state")] = None,
        email_type: Annotated[
            EmailType | None, QueryParameter(description="CAMPAIGN, TRANSACTIONAL, ...")
        ] = None,
        recipient: Annotated[
            str | None,
            QueryParameter(min_length=1, max_length=255, description="to exactly this address"),
        ] = None,
        created_from: Annotated[
            str | None,
            QueryParameter(pattern=QUERY_DATE_TIME, description="created at or after"),
        ] = None,
        created_to: Annotated[
            str | None, QueryParameter(pattern=QUERY_DATE_TIME, description="created before")
        ] = None,
    ) -> CursorPage[EmailLogRead]:
        """The caller's email logs by id, newest first, in keyset pages (`after`)."""
        if recipient is not None and "\0" in recipient:
            raise ValidationError("recipient must not contain NUL", field="recipient")
        filters = EmailLogFilter(
            status=None if status is None else status.value,
            email_type=None if email_type is None else email_type.value,
            recipient=recipient,
            created_from=parse_time(created_from, field="created_from"),
            created_to=parse_time(created_to, field="created_to"),
        )
        page = await messages.list_email_logs(principal, filters, limit=limit, after=after)
        return CursorPage.of(page, EmailLogRead.of)
