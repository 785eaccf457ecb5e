"""`/api/v1/campaigns/{id}/send|pause|resume|retry-failed|test`: the campaign send path's
actions (`send:campaigns`)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED

from openmailer.adapters.http.campaigns.campaigns import CampaignRead
from openmailer.adapters.http.pagination import ResourceId
from openmailer.adapters.http.security import CurrentPrincipal, access
from openmailer.adapters.http.services import service_dependency
from openmailer.core.accounts.scopes import Scope
from openmailer.core.campaigns.sending_service import CampaignSendingService
from openmailer.core.campaigns.services.control import MAX_TEST_ADDRESSES

CampaignSendingApi = NamedDependency[CampaignSendingService]


class TestSendRequest(msgspec.Struct):
    """1 to 10 addresses (required: 422 without them, once the campaign is found to be the
    caller's); each gets the campaign rendered without a contact (variables take their
    defaults)."""

    # Each address is judged by the core (a 422 naming `emails`), not the decoder.
    emails: Annotated[
        list[str], msgspec.Meta(max_length=MAX_TEST_ADDRESSES, examples=[["me@example.com"]])
    ] = []


class TestSendResultRead(msgspec.Struct):
    """`status`: accepted, transient, permanent or render_failed; `outbox`: it went to the
    outbox (an om_test_ key, or no provider)."""

    email: str
    status: str
    detail: str | None
    provider_id: int | None
    outbox: bool


class TestSendRead(msgspec.Struct):
    results: list[TestSendResultRead]


class RetryFailedRead(msgspec.Struct):
    """`requeued`: recipients that had failed transiently and are PENDING again."""

    campaign: CampaignRead
    requeued: int


class CampaignSendingController(Controller):
    path = "/campaigns"
    tags = ["campaigns"]
    dependencies = {"sending": service_dependency("campaign_sending")}

    @post(
        "/{campaign_id:int}/send",
        operation_id="sendCampaign",
        status_code=HTTP_202_ACCEPTED,
        **access(Scope.SEND_CAMPAIGNS),
    )
    async def send(
        self, principal: CurrentPrincipal, sending: CampaignSendingApi, campaign_id: ResourceId
    ) -> CampaignRead:
        """DRAFT or SCHEDULED -> SENDING, if its preflight has no blocking problem (409
        `preflight_blocked`; 409 `invalid_transition` from another state, and for the loser of
        two concurrent starts). A worker then materialises the recipients (`total_recipients`)
        and sends them in batches: watch `sent_count` and `failed_count`."""
        return CampaignRead.of(await sending.start(principal, campaign_id))

    @post(
        "/{campaign_id:int}/pause",
        operation_id="pauseCampaign",
        status_code=HTTP_200_OK,
        **access(Scope.SEND_CAMPAIGNS),
    )
    async def pause(
        self, principal: CurrentPrincipal, sending: CampaignSendingApi, campaign_id: ResourceId
    ) -> CampaignRead:
        """SENDING -> PAUSED: no batch is claimed after this; batches in flight finish."""
        return CampaignRead.of(await sending.pause(principal, campaign_id))

    @post(
        "/{campaign_id:int}/resume",
        operation_id="resumeCampaign",
        status_code=HTTP_200_OK,
        **access(Scope.SEND_CAMPAIGNS),
    )
    async def resume(
        self, principal: CurrentPrincipal, sending: CampaignSendingApi, campaign_id: ResourceId
    ) -> CampaignRead:
        """PAUSED -> SENDING: continues with the recipients not sent yet."""
        return CampaignRead.of(await sending.resume(principal, campaign_id))

    @post(
        "/{campaign_id:int}/retry-failed",
        operation_id="retryFailedCampaignRecipients",
        status_code=HTTP_200_OK,
        **access(Scope.SEND_CAMPAIGNS),
    )
    async def retry_failed(
        self, principal: CurrentPrincipal, sending: CampaignSendingApi, campaign_id: ResourceId
    ) -> RetryFailedRead:
        """Re-queues only the recipients that failed transiently (their retries used up); a
        SENT campaign sends again for them. Refused recipients stay failed (409
        `invalid_transition` for a DRAFT, SCHEDULED, CANCELLED or FAILED campaign)."""
        campaign, requeued = await sending.retry_failed(principal, campaign_id)
        return RetryFailedRead(campaign=CampaignRead.of(campaign), requeued=requeued)

    @post(
        "/{campaign_id:int}/test",
        operation_id="testSendCampaign",
        status_code=HTTP_200_OK,
        **access(Scope.SEND_CAMPAIGNS),
    )
    async def test_send(
        self,
        principal: CurrentPrincipal,
        sending: CampaignSendingApi,
        campaign_id: ResourceId,
        data: JSONBody[TestSendRequest],
    ) -> TestSendRead:
        """Sends the campaign as it would go out now (current template version) to the given
        addresses, through the provider chain, or to the outbox with an om_test_ key; neither
        counted nor recorded as recipients. Any campaign state."""
        results = await sending.send_test(principal, campaign_id, data.emails)
        return TestSendRead(
            results=[
                TestSendResultRead(r.email, r.status, r.detail, r.provider_id, r.outbox)
                for r in results
            ]
        )
