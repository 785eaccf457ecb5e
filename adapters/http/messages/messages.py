"""`/api/v1/messages`: transactional messages to one recipient or each of a small list,
delivered inline (`send:campaigns`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, get, post
from litestar.params import HeaderParameter, JSONBody
from litestar.status_codes import HTTP_201_CREATED

from openmailer.adapters.http.messages.dependencies import MESSAGES_DEPENDENCIES, MessagesApi
from openmailer.adapters.http.pagination import MAX_ID, ResourceId
from openmailer.adapters.http.security import CurrentPrincipal, access
from openmailer.core.accounts.scopes import Scope
from openmailer.core.messages.model import (
    MAX_IDEMPOTENCY_KEY_CHARS,
    MAX_RECIPIENTS,
    EmailLogEntry,
    MessageDraft,
)

# Limits on header inputs are checked by the core (a 422 naming the field), not by the schema
# (which would answer 400): CR, LF, NUL and over-long values are the same kind of refusal.
IdempotencyKeyHeader = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        required=False,
        description=(
            f"1 to {MAX_IDEMPOTENCY_KEY_CHARS} printable ASCII characters (else 422); a retry "
            "with the same key and body answers the first message, sending nothing; kept a day"
        ),
    ),
]


# One address, or a list of 1 to MAX_RECIPIENTS. Litestar drops a union member's bounds from
# the OpenAPI document, so they are restated on the union (`minItems`/`maxItems` apply only
# when the value is an array).
Recipients = Annotated[
    str | Annotated[list[str], msgspec.Meta(min_length=1, max_length=MAX_RECIPIENTS)],
    msgspec.Meta(extra_json_schema={"extra": {"minItems": 1, "maxItems": MAX_RECIPIENTS}}),
]


class MessageCreate(msgspec.Struct):
    """The content is inline (`subject` with `html` and/or `text`) or a template of yours
    (`template_id`, its current version unless `template_version` names another), exactly
    one of the two. `variables` fill `{{ custom.name }}` in the subject, HTML and text.
    `to` is one address (the answer is that message) or a list of 1 to 50 distinct addresses
    (each gets its own message; the answer lists them, in order)."""

    from_email: str
    to: Recipients
    subject: str | None = None
    html: str | None = None
    text: str | None = None
    from_name: str | None = None
    reply_to: str | None = None
    variables: dict[str, Any] = msgspec.field(default_factory=dict)
    template_id: Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)] | None = None
    template_version: Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)] | None = None

    def draft(self) -> MessageDraft:
        return MessageDraft(
            from_email=self.from_email,
            to=self.to if isinstance(self.to, str) else tuple(self.to),
            subject=self.subject,
            html=self.html,
            text=self.text,
            from_name=self.from_name,
            reply_to=self.reply_to,
            variables=self.variables,
            template_id=self.template_id,
            template_version=self.template_version,
        )


class MessageRead(msgspec.Struct):
    """`status`: QUEUED while being delivered, then SENT (with `provider_message_id`) or
    FAILED (with `error_message`)."""

    id: int
    email_type: str
    to: str
    subject: str | None
    status: str
    provider_id: int | None
    provider_message_id: str | None
    error_message: str | None
    sent_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, entry: EmailLogEntry) -> MessageRead:
        return cls(
            id=entry.id,
            email_type=entry.email_type,
            to=entry.recipient_email,
            subject=entry.subject,
            status=entry.status,
            provider_id=entry.provider_id,
            provider_message_id=entry.provider_message_id,
            error_message=entry.error_message,
            sent_at=entry.sent_at,
            created_at=entry.created_at,
        )


class MessageList(msgspec.Struct):
    """The messages of a request whose `to` was a list, one per address, in its order."""

    items: list[MessageRead]


class MessageController(Controller):
    path = "/messages"
    tags = ["messages"]
    dependencies = MESSAGES_DEPENDENCIES

    @post(
        "",
        operation_id="sendMessage",
        status_code=HTTP_201_CREATED,
        **access(Scope.SEND_CAMPAIGNS),
    )
    async def send(
        self,
        principal: CurrentPrincipal,
        messages: MessagesApi,
        data: JSONBody[MessageCreate],
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> MessageRead | MessageList:
        """Renders, signs (the From domain's DKIM keys, RSA and Ed25519) and delivers the
        message, to each recipient, through the caller's providers in failover order, or the
        outbox (no real provider, or an `om_test_` key). 201 with the outcome (SENT or FAILED)
        — one message, or `{"items": [...]}` when `to` is a list — also when an
        Idempotency-Key replays the first answer (nothing is sent again)."""
        answer = await messages.send(principal, data.draft(), idempotency_key=idempotency_key)
        if isinstance(data.to, str):
            return MessageRead.of(answer.message)
        return MessageList(items=[MessageRead.of(entry) for entry in answer.messages])

    @get("/{message_id:int}", operation_id="getMessage", **access(Scope.SEND_CAMPAIGNS))
    async def get_message(
        self, principal: CurrentPrincipal, messages: MessagesApi, message_id: ResourceId
    ) -> MessageRead:
        """One transactional message: its state and provider message id."""
        return MessageRead.of(await messages.get_message(principal, message_id))
