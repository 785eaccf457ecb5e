"""The AWS SES provider (aioboto3): our signed raw MIME through SES v1 `SendRawEmail`.

Raw MIME, so the DKIM signature made by sender_rs travels as it is: render with the `ses`
signing profile (SES rewrites Message-ID and Date, which that profile leaves unsigned). One SES
client (one connection pool) is opened on first use and kept across batches until `aclose`;
messages of a batch are sent concurrently, at most `max_concurrency` at a time. botocore's own
retries are off: a throttled message is a transient outcome, and the send path decides when to
retry it and whether another provider takes the traffic.

Classification (`classify_ses_error`): throttling, service-side failures (5xx) and lost
connections are transient; a refused message (MessageRejected, an unverified MAIL FROM domain,
an invalid parameter, any other 4xx) is permanent. An account or configuration set whose sending
is paused is transient, not permanent: the message and its recipient are fine, only this
provider cannot take mail now, so the provider chain should fail over (a permanent outcome never
fails over) and the recipient must not be recorded as a bounce. Refused credentials are
transient for the same reason: they say nothing about the recipient, the next provider can
deliver, and the failures open this provider's circuit breaker; `check()` names them as stage
`auth`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Annotated

import aioboto3
import msgspec
from aiobotocore.config import AioConfig
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from openmailer.adapters.providers.configurations import HTTP_URL_PATTERN
from openmailer.core.ports.sending import ProviderContext
from openmailer.core.sending.contract import CheckReport, MessageForm, OutgoingMessage, ProviderType
from openmailer.core.sending.outcomes import OutcomeKind, RecipientOutcome

if TYPE_CHECKING:
    from types_aiobotocore_ses.client import SESClient

REGION_PATTERN = r"^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$"
TOPIC_ARN_PATTERN = r"^arn:aws(-[a-z]+)*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$"

TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalFailure",
        "InternalError",
        "RequestTimeout",
        "RequestTimeoutException",
        # the provider cannot send now; another one can (see the module's docstring)
        "AccountSendingPausedException",
        "ConfigurationSetSendingPausedException",
    }
)
PERMANENT_CODES = frozenset(
    {
        "MessageRejected",
        "MailFromDomainNotVerified",
        "MailFromDomainNotVerifiedException",
        "InvalidParameterValue",
        "ConfigurationSetDoesNotExist",
        "ConfigurationSetDoesNotExistException",
    }
)
# Refused credentials during `check()`: the stage is `auth`, not the quota call.
AUTH_CODES = frozenset(
    {
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
        "AccessDenied",
        "AccessDeniedException",
        "ExpiredToken",
        "ExpiredTokenException",
    }
)


class SesConfiguration(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """`endpoint_url`: a VPC endpoint (or a test peer) instead of the region's public one.
    `configuration_set`: SES's event publishing (bounces, complaints) for these sends.
    `sns_topic_arns`: the SNS topics whose notifications the provider's webhook accepts (any
    topic when unset; the signature is checked either way)."""

    region: Annotated[str, msgspec.Meta(pattern=REGION_PATTERN, examples=["eu-west-1"])]
    access_key_id: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9]{16,128}$")]
    secret_access_key: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    session_token: Annotated[str, msgspec.Meta(min_length=1, max_length=4096)] | None = None
    configuration_set: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{1,64}$")] | None = None
    endpoint_url: Annotated[str, msgspec.Meta(pattern=HTTP_URL_PATTERN, max_length=2048)] | None = (
        None
    )
    timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=120)] = 30.0
    max_concurrency: Annotated[int, msgspec.Meta(ge=1, le=64)] = 8
    sns_topic_arns: (
        Annotated[
            list[Annotated[str, msgspec.Meta(pattern=TOPIC_ARN_PATTERN)]],
            msgspec.Meta(max_length=16),
        ]
        | None
    ) = None


def classify_ses_error(code: str, http_status: int | None) -> OutcomeKind:
    """What an SES error answer means for the message: codes first, then the HTTP status."""
    if code in TRANSIENT_CODES or code in AUTH_CODES:
        return OutcomeKind.TRANSIENT
    if code in PERMANENT_CODES:
        return OutcomeKind.PERMANENT
    if http_status is not None and (http_status >= 500 or http_status in (401, 403, 408, 429)):
        return OutcomeKind.TRANSIENT
    return OutcomeKind.PERMANENT


def _error_of(error: ClientError) -> tuple[str, int | None, str]:
    details = error.response.get("Error", {})
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    code = str(details.get("Code", "Unknown"))
    return code, status, f"{code}: {details.get('Message', '') or 'no message'}"


class SesProviderClient:
    def __init__(self, configuration: SesConfiguration) -> None:
        self.configuration = configuration
        self._stack = AsyncExitStack()
        self._client: SESClient | None = None
        self._opening = asyncio.Lock()

    async def _ses(self) -> SESClient:
        async with self._opening:
            if self._client is not None:
                return self._client
            c = self.configuration
            session = aioboto3.Session(
                aws_access_key_id=c.access_key_id,
                aws_secret_access_key=c.secret_access_key,
                aws_session_token=c.session_token,
                region_name=c.region,
            )
            config = AioConfig(
                connect_timeout=c.timeout_seconds,
                read_timeout=c.timeout_seconds,
                max_pool_connections=c.max_concurrency,
                retries={"total_max_attempts": 1},
            )
            client = await self._stack.enter_async_context(
                session.client("ses", endpoint_url=c.endpoint_url, config=config)
            )
            self._client = client
            return client

    async def aclose(self) -> None:
        self._client = None
        await self._stack.aclose()

    async def check(self) -> CheckReport:
        try:
            ses = await self._ses()
            quota = await ses.get_send_quota()
        except ClientError as error:
            code, _, detail = _error_of(error)
            stage = "auth" if code in AUTH_CODES else "quota"
            return CheckReport(ok=False, stage=stage, detail=detail)
        except EndpointConnectionError as error:
            return CheckReport(ok=False, stage="connect", detail=str(error))
        except BotoCoreError as error:
            return CheckReport(ok=False, stage="connect", detail=str(error) or type(error).__name__)
        return CheckReport(
            ok=True,
            detail=(
                f"quota: {quota.get('Max24HourSend', 0):g} messages per 24 hours, "
                f"{quota.get('MaxSendRate', 0):g} per second, "
                f"{quota.get('SentLast24Hours', 0):g} sent in the last 24 hours"
            ),
        )

    async def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[RecipientOutcome]:
        limit = asyncio.Semaphore(self.configuration.max_concurrency)

        async def one(message: OutgoingMessage) -> list[RecipientOutcome]:
            async with limit:
                return await self._send(message)

        results = await asyncio.gather(*(one(message) for message in messages))
        return [outcome for outcomes in results for outcome in outcomes]

    async def _send(self, message: OutgoingMessage) -> list[RecipientOutcome]:
        if message.raw is None:
            raise ValueError("the SES provider sends raw MIME: OutgoingMessage.raw is required")
        try:
            ses = await self._ses()
            if self.configuration.configuration_set is None:
                answer = await ses.send_raw_email(
                    Source=message.sender,
                    Destinations=list(message.recipients),
                    RawMessage={"Data": message.raw},
                )
            else:
                answer = await ses.send_raw_email(
                    Source=message.sender,
                    Destinations=list(message.recipients),
                    RawMessage={"Data": message.raw},
                    ConfigurationSetName=self.configuration.configuration_set,
                )
        except ClientError as error:
            code, status, detail = _error_of(error)
            if classify_ses_error(code, status) is OutcomeKind.PERMANENT:
                return [
                    RecipientOutcome.permanent(message.message_id, recipient, detail)
                    for recipient in message.recipients
                ]
            return self._transient(message, detail)
        except (ReadTimeoutError, ConnectionClosedError) as error:
            # The request was sent; SES may have accepted it before the answer was lost.
            detail = f"{error} (after the message was sent: it may have been delivered)"
            return self._transient(message, detail, ambiguous=True)
        except (BotoCoreError, OSError, TimeoutError) as error:
            return self._transient(message, str(error) or type(error).__name__)
        return [
            RecipientOutcome.accepted(message.message_id, recipient, answer["MessageId"])
            for recipient in message.recipients
        ]

    @staticmethod
    def _transient(
        message: OutgoingMessage, detail: str, *, ambiguous: bool = False
    ) -> list[RecipientOutcome]:
        return [
            RecipientOutcome.transient(message.message_id, recipient, detail, ambiguous=ambiguous)
            for recipient in message.recipients
        ]


def open_ses_client(configuration: SesConfiguration, context: ProviderContext) -> SesProviderClient:
    return SesProviderClient(configuration)


SES = ProviderType(
    name="SES",
    configuration=SesConfiguration,
    message_form=MessageForm.RAW_MIME,
    open_client=open_ses_client,
    secret_fields=frozenset({"secret_access_key", "session_token"}),
    signing_profile="ses",
    description="Amazon SES (SendRawEmail): our signed MIME, one kept client, bounded concurrency",
)
