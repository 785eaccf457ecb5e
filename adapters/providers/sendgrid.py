"""The SendGrid provider: v3 mail send over HTTP, from rendered parts.

SendGrid builds (and signs) the MIME itself, so it takes PARTS: subject, HTML, text and our
headers (List-Unsubscribe, List-Id, Message-ID, ...). One `POST /v3/mail/send` per message,
with one personalization per recipient and `custom_args.om_message_id` carrying our Message-ID
so SendGrid's events map back to the message. One httpx client (HTTP/1.1 keep-alive) is kept
across batches until `aclose`; at most `max_concurrency` requests are in flight.

202 is accepted, with SendGrid's `X-Message-Id`. 429 pauses every message of the client until
`Retry-After` has passed, if that is at most `max_retry_wait_seconds` away, and retries once;
otherwise (or if the retry is refused again) it is transient, with the wait in the detail.
5xx, timeouts, lost connections and refused credentials (401, 403: the provider's failure, so
the chain fails over) are transient (a request that was sent but not answered is `ambiguous`);
400, 413 and any other 4xx are permanent, with SendGrid's `errors[].message` and `field` in the
detail.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from email.utils import parseaddr, parsedate_to_datetime
from typing import Annotated, Any

import httpx
import msgspec

from openmailer.adapters.providers.configurations import HTTP_URL_PATTERN
from openmailer.adapters.webhooks.sendgrid_signature import load_public_key
from openmailer.core.ports.sending import ProviderContext
from openmailer.core.sending.contract import CheckReport, MessageForm, OutgoingMessage, ProviderType
from openmailer.core.sending.outcomes import RecipientOutcome

MAIL_SEND_PATH = "/v3/mail/send"
SCOPES_PATH = "/v3/scopes"
MAIL_SEND_SCOPE = "mail.send"
# SendGrid refuses these in `headers` (they have fields of their own or are its to write);
# Date is SendGrid's to set when it actually sends.
RESERVED_HEADERS = frozenset(
    {
        "x-sg-id",
        "x-sg-eid",
        "received",
        "dkim-signature",
        "content-type",
        "content-transfer-encoding",
        "to",
        "from",
        "subject",
        "reply-to",
        "cc",
        "bcc",
        "date",
    }
)
DEFAULT_RETRY_AFTER_SECONDS = 1.0
MAX_DETAIL_CHARS = 1000


class SendgridConfiguration(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """`sandbox_mode`: SendGrid validates each request and sends nothing. `ip_pool_name`: the
    dedicated IP pool to send from. `webhook_verification_key`: the Event Webhook's signature
    verification key (SendGrid's base64 public key); the provider's webhook refuses every
    request while it is unset."""

    api_key: Annotated[str, msgspec.Meta(pattern=r"^\S+$", max_length=256)]
    base_url: Annotated[str, msgspec.Meta(pattern=HTTP_URL_PATTERN, max_length=2048)] = (
        "https://api.sendgrid.com"
    )
    ip_pool_name: Annotated[str, msgspec.Meta(min_length=2, max_length=64)] | None = None
    sandbox_mode: bool = False
    timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=120)] = 30.0
    max_concurrency: Annotated[int, msgspec.Meta(ge=1, le=64)] = 8
    max_retry_wait_seconds: Annotated[float, msgspec.Meta(ge=0, le=60)] = 5.0
    webhook_verification_key: Annotated[str, msgspec.Meta(max_length=512)] | None = None

    def __post_init__(self) -> None:
        if self.webhook_verification_key is not None:
            # msgspec turns the ValueError into a validation error of the configuration
            load_public_key(self.webhook_verification_key)


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float:
    """`Retry-After` as delta-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if value is None or not value.strip():
        return DEFAULT_RETRY_AFTER_SECONDS
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER_SECONDS
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def sendgrid_errors(response: httpx.Response) -> str:
    """`400 field from.email: The from email does not contain a valid address.; ...`"""
    try:
        body = response.json()
    except ValueError:
        body = None
    errors = body.get("errors") if isinstance(body, dict) else None
    described = []
    for error in errors if isinstance(errors, list) else []:
        if isinstance(error, dict):
            field = error.get("field")
            message = str(error.get("message") or "")
            described.append(f"field {field}: {message}" if field else message)
    text = "; ".join(described) or response.text.strip() or response.reason_phrase
    return f"{response.status_code} {text}"[:MAX_DETAIL_CHARS]


def mail_send_body(
    message: OutgoingMessage, configuration: SendgridConfiguration
) -> dict[str, Any]:
    if message.parts is None:
        raise ValueError("the SendGrid provider sends parts: OutgoingMessage.parts is required")
    parts = message.parts
    headers = {name: value for name, value in parts.headers}
    by_name = {name.lower(): value for name, value in parts.headers}
    name, address = parseaddr(by_name.get("from", ""))
    sender: dict[str, str] = {"email": address or message.sender}
    if name:
        sender["name"] = name
    content = []
    if parts.text:
        content.append({"type": "text/plain", "value": parts.text})
    if parts.html:
        content.append({"type": "text/html", "value": parts.html})
    custom_args = {"om_message_id": message.message_id}
    if message.campaign_id is not None:
        custom_args["om_campaign_id"] = str(message.campaign_id)
    body: dict[str, Any] = {
        "personalizations": [{"to": [{"email": recipient}]} for recipient in message.recipients],
        "from": sender,
        "subject": parts.subject,
        "content": content,
        "custom_args": custom_args,
    }
    custom_headers = {k: v for k, v in headers.items() if k.lower() not in RESERVED_HEADERS}
    if custom_headers:
        body["headers"] = custom_headers
    if "reply-to" in by_name:
        body["reply_to"] = {"email": parseaddr(by_name["reply-to"])[1] or by_name["reply-to"]}
    if configuration.ip_pool_name is not None:
        body["ip_pool_name"] = configuration.ip_pool_name
    if configuration.sandbox_mode:
        body["mail_settings"] = {"sandbox_mode": {"enable": True}}
    return body


class SendgridProviderClient:
    def __init__(self, configuration: SendgridConfiguration) -> None:
        self.configuration = configuration
        c = configuration
        self._http = httpx.AsyncClient(
            base_url=c.base_url,
            headers={"Authorization": f"Bearer {c.api_key}"},
            timeout=httpx.Timeout(c.timeout_seconds),
            limits=httpx.Limits(
                max_connections=c.max_concurrency, max_keepalive_connections=c.max_concurrency
            ),
        )
        self._paused_until = 0.0  # the event loop's clock: a 429 pauses every message

    async def aclose(self) -> None:
        await self._http.aclose()

    async def check(self) -> CheckReport:
        try:
            response = await self._http.get(SCOPES_PATH)
        except httpx.HTTPError as error:
            return CheckReport(ok=False, stage="connect", detail=str(error) or type(error).__name__)
        if response.status_code in (401, 403):
            return CheckReport(ok=False, stage="auth", detail=sendgrid_errors(response))
        if response.status_code != 200:
            return CheckReport(ok=False, stage="scopes", detail=sendgrid_errors(response))
        try:
            scopes = response.json().get("scopes", [])
        except (ValueError, AttributeError):
            return CheckReport(ok=False, stage="scopes", detail="unreadable /v3/scopes answer")
        if MAIL_SEND_SCOPE not in scopes:
            return CheckReport(
                ok=False, stage="auth", detail=f"the API key lacks the {MAIL_SEND_SCOPE} scope"
            )
        return CheckReport(ok=True, detail=f"the API key has the {MAIL_SEND_SCOPE} scope")

    async def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[RecipientOutcome]:
        limit = asyncio.Semaphore(self.configuration.max_concurrency)

        async def one(message: OutgoingMessage) -> list[RecipientOutcome]:
            async with limit:
                return await self._send(message)

        results = await asyncio.gather(*(one(message) for message in messages))
        return [outcome for outcomes in results for outcome in outcomes]

    async def _send(self, message: OutgoingMessage) -> list[RecipientOutcome]:
        if message.parts is None:
            # A send path that rendered MIME only (see core/sending/services/forms.py): the
            # message fails clearly instead of the whole request.
            detail = "SendGrid takes rendered parts; the message was rendered as raw MIME only"
            return _all(message, RecipientOutcome.permanent, detail)
        body = mail_send_body(message, self.configuration)
        loop = asyncio.get_running_loop()
        detail = "not sent"
        for _attempt in (1, 2):
            wait = self._paused_until - loop.time()
            if wait > self.configuration.max_retry_wait_seconds:
                return _all(message, RecipientOutcome.transient, _rate_limited(wait))
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                response = await self._http.post(MAIL_SEND_PATH, json=body)
            except (httpx.ReadTimeout, httpx.RemoteProtocolError) as error:
                # The whole request was sent; SendGrid may have taken it before the answer was lost.
                lost = f"{type(error).__name__}: {error} (sent: it may have been delivered)"
                return [
                    RecipientOutcome.transient(message.message_id, r, lost, ambiguous=True)
                    for r in message.recipients
                ]
            except httpx.HTTPError as error:
                return _all(message, RecipientOutcome.transient, f"{type(error).__name__}: {error}")
            if response.status_code == 202:
                provider_id = response.headers.get("X-Message-Id") or message.message_id
                return [
                    RecipientOutcome.accepted(message.message_id, r, provider_id)
                    for r in message.recipients
                ]
            if response.status_code == 429:
                pause = retry_after_seconds(response.headers.get("Retry-After"))
                self._paused_until = max(self._paused_until, loop.time() + pause)
                detail = f"{sendgrid_errors(response)}; {_rate_limited(pause)}"
                continue
            # Refused credentials (401/403) are the provider's failure, not the recipient's:
            # transient, so the chain fails over and the circuit breaker counts them.
            if response.status_code >= 500 or response.status_code in (401, 403, 408):
                return _all(message, RecipientOutcome.transient, sendgrid_errors(response))
            return _all(message, RecipientOutcome.permanent, sendgrid_errors(response))
        return _all(message, RecipientOutcome.transient, detail)


def _rate_limited(wait: float) -> str:
    return f"rate limited by SendGrid: retry after {math.ceil(wait)} s"


def _all(
    message: OutgoingMessage, outcome: Callable[[str, str, str], RecipientOutcome], detail: str
) -> list[RecipientOutcome]:
    return [outcome(message.message_id, recipient, detail) for recipient in message.recipients]


def open_sendgrid_client(
    configuration: SendgridConfiguration, context: ProviderContext
) -> SendgridProviderClient:
    return SendgridProviderClient(configuration)


SENDGRID = ProviderType(
    name="SENDGRID",
    configuration=SendgridConfiguration,
    message_form=MessageForm.PARTS,
    open_client=open_sendgrid_client,
    secret_fields=frozenset({"api_key"}),
    description="SendGrid v3 mail send: rendered parts over one kept HTTP/1.1 client",
)
