"""`POST /webhooks/{token}`: a provider's events (SES through SNS, SendGrid's Event Webhook).

Public: the unguessable token in the path names the provider, and the request's signature is
checked over the raw body before anything in it is used, so no credential is asked. Unknown
tokens (and providers that report no events) answer one 404. The body is read raw (SNS posts it
as text/plain), bounded by MAX_WEBHOOK_BYTES. A stored event is processed by a worker; the
answer only says what was stored.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, post
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
from litestar.params import PathParameter
from litestar.status_codes import HTTP_200_OK

from openmailer.adapters.http.errors import problem_specs
from openmailer.adapters.http.services import service_dependency
from openmailer.adapters.metrics.instruments import count_webhook_receipt, count_webhook_rejection
from openmailer.core.errors import DomainError
from openmailer.core.events.model import Receipt
from openmailer.core.events.service import EventsService

# SNS messages are at most 256 KB; SendGrid batches stay well under 1 MB.
MAX_WEBHOOK_BYTES = 1_000_000
EventsApi = NamedDependency[EventsService]
# Unconstrained: a token of the wrong shape is unknown too, and answers the same 404.
WebhookToken = Annotated[
    str, PathParameter(description="the provider's `webhook_token` (its `webhook_path`)")
]


class WebhookReceipt(msgspec.Struct):
    """`stored`: new events; `duplicates`: events stored before (a retry or a replay);
    `ignored`: kinds that change nothing here (acknowledged so the provider stops sending them);
    `confirmed_subscription`: an SNS SubscriptionConfirmation was confirmed."""

    stored: int
    duplicates: int
    ignored: int
    confirmed_subscription: bool

    @classmethod
    def of(cls, receipt: Receipt) -> WebhookReceipt:
        return cls(
            stored=receipt.stored,
            duplicates=receipt.duplicates,
            ignored=receipt.ignored,
            confirmed_subscription=receipt.confirmed_subscription,
        )


@post(
    "/webhooks/{token:str}",
    operation_id="receiveProviderEvents",
    tags=["webhooks"],
    status_code=HTTP_200_OK,
    request_max_body_size=MAX_WEBHOOK_BYTES,
    dependencies={"events": service_dependency("events")},
    responses=problem_specs(403, 404, 409, 413, 422, 429),
    security=[],
)
async def receive_provider_events(
    request: Request[Any, Any, Any], events: EventsApi, token: WebhookToken
) -> WebhookReceipt:
    """Verify, store once and acknowledge a provider's events (`docs/webhooks.md`): 403 for a
    bad or missing signature, a stale message or a refused topic or address; 422 for a body
    that is not the provider's format; 404 for an unknown token; 429 once a client's refused
    requests pass 60 a minute."""
    headers = {name.lower(): value for name, value in request.headers.items()}
    client_ip = request.client.host if request.client else "unknown"
    try:
        body = await request.body()
        receipt = await events.receive(token, body, headers, client_ip=client_ip)
    except DomainError as refused:
        count_webhook_rejection(refused.code)
        raise
    except HTTPException as refused:  # Litestar's own: a body over MAX_WEBHOOK_BYTES (413)
        count_webhook_rejection(f"http_{refused.status_code}")
        raise
    count_webhook_receipt(
        stored=receipt.stored, duplicates=receipt.duplicates, ignored=receipt.ignored
    )
    return WebhookReceipt.of(receipt)
