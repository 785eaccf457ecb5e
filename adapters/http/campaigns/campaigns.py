"""`/api/v1/campaigns`: the caller's campaigns, and the lifecycle actions that need no send path
(schedule, unschedule, cancel)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.params import JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from openmailer.adapters.http.accounts.fields import AwareDatetime
from openmailer.adapters.http.campaigns.dependencies import CAMPAIGNS_DEPENDENCIES, CampaignsApi
from openmailer.adapters.http.pages import OffsetPage
from openmailer.adapters.http.pagination import MAX_ID, PageParameters, ResourceId
from openmailer.adapters.http.security import CurrentPrincipal, access
from openmailer.core.accounts.scopes import Scope
from openmailer.core.campaigns.lifecycle import CampaignAction, CampaignStatus
from openmailer.core.campaigns.model import (
    MAX_NAME_LENGTH,
    MAX_PREVIEW_TEXT_CHARS,
    MAX_RETRIES,
    MAX_SEND_SPEED,
    Campaign,
    CampaignSettings,
)
from openmailer.core.events.policy import complaint_health
from openmailer.core.messages.model import MAX_ADDRESS_CHARS, MAX_NAME_CHARS, MAX_SUBJECT_CHARS

Name = Annotated[
    str,
    msgspec.Meta(min_length=1, max_length=MAX_NAME_LENGTH, pattern=r"\S", examples=["June news"]),
]
Id = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]
# CR, LF and NUL are refused by the core's header checks (a 422 naming the field, code
# header_injection); the lengths here only bound what is parsed.
Address = Annotated[
    str, msgspec.Meta(min_length=3, max_length=MAX_ADDRESS_CHARS, examples=["news@example.com"])
]
DisplayName = Annotated[str, msgspec.Meta(max_length=MAX_NAME_CHARS, examples=["Example News"])]
Subject = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_SUBJECT_CHARS)]
PreviewText = Annotated[str, msgspec.Meta(max_length=MAX_PREVIEW_TEXT_CHARS)]
SendSpeed = Annotated[
    int, msgspec.Meta(ge=1, le=MAX_SEND_SPEED, description="messages per second, all workers")
]
# Litestar drops a zero `minimum` from the OpenAPI document; it is restated (as for providers'
# limits) so that clients and schemathesis see the bound the decoder enforces.
Retries = Annotated[
    int, msgspec.Meta(ge=0, le=MAX_RETRIES, extra_json_schema={"extra": {"minimum": 0}})
]


class CampaignCreate(msgspec.Struct):
    """The audience is `list_id`, `segment_id` or both (a contact in both gets one email)."""

    name: Name
    template_id: Id
    from_email: Address
    list_id: Id | None = None
    segment_id: Id | None = None
    from_name: DisplayName | None = None
    reply_to_email: Address | None = None
    domain_id: Id | None = None
    provider_id: Id | None = None
    subject_line: Subject | None = None
    preview_text: PreviewText | None = None
    track_opens: bool = True
    track_clicks: bool = True
    send_speed: SendSpeed = 100
    retry_failed: bool = True
    max_retries: Retries = 3

    def settings(self) -> CampaignSettings:
        return CampaignSettings(
            **{name: getattr(self, name) for name in CampaignSettings.__dataclass_fields__}
        )


class CampaignUpdate(msgspec.Struct):
    """Only the fields sent change; `null` clears an optional one (`list_id`, `segment_id`,
    `from_name`, `reply_to_email`, `domain_id`, `provider_id`, `subject_line`,
    `preview_text`)."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    template_id: Id | msgspec.UnsetType = msgspec.UNSET
    from_email: Address | msgspec.UnsetType = msgspec.UNSET
    list_id: Id | msgspec.UnsetType | None = msgspec.UNSET
    segment_id: Id | msgspec.UnsetType | None = msgspec.UNSET
    from_name: DisplayName | msgspec.UnsetType | None = msgspec.UNSET
    reply_to_email: Address | msgspec.UnsetType | None = msgspec.UNSET
    domain_id: Id | msgspec.UnsetType | None = msgspec.UNSET
    provider_id: Id | msgspec.UnsetType | None = msgspec.UNSET
    subject_line: Subject | msgspec.UnsetType | None = msgspec.UNSET
    preview_text: PreviewText | msgspec.UnsetType | None = msgspec.UNSET
    track_opens: bool | msgspec.UnsetType = msgspec.UNSET
    track_clicks: bool | msgspec.UnsetType = msgspec.UNSET
    send_speed: SendSpeed | msgspec.UnsetType = msgspec.UNSET
    retry_failed: bool | msgspec.UnsetType = msgspec.UNSET
    max_retries: Retries | msgspec.UnsetType = msgspec.UNSET

    def changes(self) -> dict[str, Any]:
        return {
            name: value
            for name in self.__struct_fields__
            if not isinstance(value := getattr(self, name), msgspec.UnsetType)
        }


class CampaignRead(msgspec.Struct):
    id: int
    name: str
    status: CampaignStatus
    template_id: int
    template_version: int | None
    list_id: int | None
    segment_id: int | None
    from_email: str | None
    from_name: str | None
    reply_to_email: str | None
    domain_id: int | None
    provider_id: int | None
    subject_line: str | None
    preview_text: str | None
    track_opens: bool
    track_clicks: bool
    send_speed: int
    retry_failed: bool
    max_retries: int
    scheduled_at: datetime | None
    sent_at: datetime | None
    total_recipients: int
    sent_count: int
    failed_count: int
    open_rate: float
    click_rate: float
    bounce_rate: float
    unsubscribe_count: int
    complaint_count: int
    created_at: datetime
    updated_at: datetime
    # Provider events (docs/webhooks.md): `complaint_health` is `warning` from a 0.1% complaint
    # rate and `over_limit` from 0.3% after 1,000 sent, which pauses a sending campaign with
    # `pause_reason`.
    bounce_count: int = 0
    complaint_health: Literal["ok", "warning", "over_limit"] = "ok"
    pause_reason: str | None = None
    # Retention (docs/api.md, "Archived campaigns"): set once archived, read-only from then on.
    archived_at: datetime | None = None

    @classmethod
    def of(cls, campaign: Campaign) -> CampaignRead:
        s, stats = campaign.settings, campaign.stats
        return cls(
            id=campaign.id,
            name=s.name,
            status=campaign.status,
            template_id=s.template_id,
            template_version=campaign.template_version,
            list_id=s.list_id,
            segment_id=s.segment_id,
            from_email=s.from_email,
            from_name=s.from_name,
            reply_to_email=s.reply_to_email,
            domain_id=s.domain_id,
            provider_id=s.provider_id,
            subject_line=s.subject_line,
            preview_text=s.preview_text,
            track_opens=s.track_opens,
            track_clicks=s.track_clicks,
            send_speed=s.send_speed,
            retry_failed=s.retry_failed,
            max_retries=s.max_retries,
            scheduled_at=campaign.scheduled_at,
            sent_at=campaign.sent_at,
            total_recipients=campaign.total_recipients,
            sent_count=campaign.sent_count,
            failed_count=campaign.failed_count,
            open_rate=stats.open_rate,
            click_rate=stats.click_rate,
            bounce_rate=stats.bounce_rate,
            unsubscribe_count=stats.unsubscribe_count,
            complaint_count=stats.complaint_count,
            created_at=campaign.created_at,
            updated_at=campaign.updated_at,
            bounce_count=stats.bounce_count,
            complaint_health=complaint_health(stats.complaint_count, campaign.sent_count).value,
            pause_reason=stats.pause_reason,
            archived_at=campaign.archived_at,
        )


class ScheduleRequest(msgspec.Struct):
    """`scheduled_at` is required (a 422 without it, once the campaign is found to be the
    caller's)."""

    scheduled_at: (
        Annotated[
            AwareDatetime,
            msgspec.Meta(description="RFC 3339 with an offset, in the future (at most a year)"),
        ]
        | None
    ) = None


class CampaignController(Controller):
    path = "/campaigns"
    tags = ["campaigns"]
    dependencies = CAMPAIGNS_DEPENDENCIES

    @post(
        "",
        operation_id="createCampaign",
        status_code=HTTP_201_CREATED,
        **access(Scope.WRITE_CAMPAIGNS),
    )
    async def create(
        self, principal: CurrentPrincipal, campaigns: CampaignsApi, data: JSONBody[CampaignCreate]
    ) -> CampaignRead:
        """A DRAFT campaign. The template, list, segment, domain and provider must be the
        caller's (404 otherwise); `from_email` must be at the domain's name when `domain_id` is
        given. Whether it can start is the preflight's question."""
        return CampaignRead.of(await campaigns.create_campaign(principal, data.settings()))

    @get("", operation_id="listCampaigns", **access(Scope.READ_CAMPAIGNS))
    async def list_campaigns(
        self,
        principal: CurrentPrincipal,
        campaigns: CampaignsApi,
        pagination: PageParameters,
        status: Annotated[
            CampaignStatus | None, QueryParameter(description="only campaigns in this state")
        ] = None,
        archived: Annotated[
            bool,
            QueryParameter(description="the archived campaigns instead of the live ones"),
        ] = False,
    ) -> OffsetPage[CampaignRead]:
        """The caller's campaigns, newest first: the live ones, or with `archived=true` those
        the retention job archived (read-only)."""
        page = await campaigns.list_campaigns(
            principal,
            status=status,
            limit=pagination.limit,
            offset=pagination.offset,
            archived=archived,
        )
        return OffsetPage.of(page, CampaignRead.of)

    @get("/{campaign_id:int}", operation_id="getCampaign", **access(Scope.READ_CAMPAIGNS))
    async def get_campaign(
        self, principal: CurrentPrincipal, campaigns: CampaignsApi, campaign_id: ResourceId
    ) -> CampaignRead:
        """One of the caller's campaigns, archived ones too (`archived_at` set: read-only, any
        change or action answers 409 `campaign_archived`)."""
        return CampaignRead.of(await campaigns.get_campaign(principal, campaign_id))

    @patch("/{campaign_id:int}", operation_id="updateCampaign", **access(Scope.WRITE_CAMPAIGNS))
    async def update(
        self,
        principal: CurrentPrincipal,
        campaigns: CampaignsApi,
        campaign_id: ResourceId,
        data: JSONBody[CampaignUpdate],
    ) -> CampaignRead:
        """Change the fields sent; only a DRAFT changes (409 `campaign_not_editable`)."""
        return CampaignRead.of(
            await campaigns.update_campaign(principal, campaign_id, data.changes())
        )

    @delete(
        "/{campaign_id:int}",
        operation_id="deleteCampaign",
        status_code=HTTP_204_NO_CONTENT,
        **access(Scope.WRITE_CAMPAIGNS),
    )
    async def delete_campaign(
        self, principal: CurrentPrincipal, campaigns: CampaignsApi, campaign_id: ResourceId
    ) -> None:
        """Delete a DRAFT (409 `campaign_not_editable` in any other state)."""
        await campaigns.delete_campaign(principal, campaign_id)

    @post(
        "/{campaign_id:int}/schedule",
        operation_id="scheduleCampaign",
        status_code=HTTP_200_OK,
        **access(Scope.SEND_CAMPAIGNS),
    )
    async def schedule(
        self,
        principal: CurrentPrincipal,
        campaigns: CampaignsApi,
        campaign_id: ResourceId,
        data: JSONBody[ScheduleRequest],
    ) -> CampaignRead:
        """DRAFT -> SCHEDULED at `scheduled_at`, if its preflight has no blocking problem
        (409 `preflight_blocked`; 409 `invalid_transition` from any other state)."""
        return CampaignRead.of(await campaigns.schedule(principal, campaign_id, data.scheduled_at))

    @post(
        "/{campaign_id:int}/unschedule",
        operation_id="unscheduleCampaign",
        status_code=HTTP_200_OK,
        **access(Scope.SEND_CAMPAIGNS),
    )
    async def unschedule(
        self, principal: CurrentPrincipal, campaigns: CampaignsApi, campaign_id: ResourceId
    ) -> CampaignRead:
        """SCHEDULED -> DRAFT (to edit it); `scheduled_at` is cleared."""
        return CampaignRead.of(
            await campaigns.act(principal, campaign_id, CampaignAction.UNSCHEDULE)
        )

    @post(
        "/{campaign_id:int}/cancel",
        operation_id="cancelCampaign",
        status_code=HTTP_200_OK,
        **access(Scope.SEND_CAMPAIGNS),
    )
    async def cancel(
        self, principal: CurrentPrincipal, campaigns: CampaignsApi, campaign_id: ResourceId
    ) -> CampaignRead:
        """SCHEDULED, SENDING or PAUSED -> CANCELLED (final)."""
        return CampaignRead.of(await campaigns.act(principal, campaign_id, CampaignAction.CANCEL))
