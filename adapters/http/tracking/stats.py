"""`GET /api/v1/campaigns/{id}/stats`: what a campaign's recipients did, people and machines
apart, with its links' clicks and an hourly time series; `GET .../recipients`: each of them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import msgspec
from litestar import Controller, get
from litestar.params import QueryParameter

from openmailer.adapters.http.audience.fields import AfterCursor
from openmailer.adapters.http.pages import CursorPage
from openmailer.adapters.http.pagination import DEFAULT_LIMIT, MAX_LIMIT, ResourceId
from openmailer.adapters.http.security import CurrentPrincipal, access
from openmailer.adapters.http.tracking.public import TRACKING_DEPENDENCIES, TrackingApi
from openmailer.core.accounts.scopes import Scope
from openmailer.core.tracking.model import CampaignStats, RecipientActivity, RecipientStatus


def _utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.replace(tzinfo=UTC)


class RecipientRead(msgspec.Struct):
    """`open_count`/`click_count` count people; `machine_*` proxies and scanners."""

    id: int
    contact_id: int
    email: str
    status: str
    sent_at: datetime | None
    delivered_at: datetime | None
    opened_at: datetime | None
    clicked_at: datetime | None
    bounced_at: datetime | None
    complained_at: datetime | None
    open_count: int
    click_count: int
    machine_open_count: int
    machine_click_count: int
    error_message: str | None

    @classmethod
    def of(cls, item: RecipientActivity) -> RecipientRead:
        return cls(
            id=item.id,
            contact_id=item.contact_id,
            email=item.email,
            status=item.status,
            sent_at=_utc(item.sent_at),
            delivered_at=_utc(item.delivered_at),
            opened_at=_utc(item.opened_at),
            clicked_at=_utc(item.clicked_at),
            bounced_at=_utc(item.bounced_at),
            complained_at=_utc(item.complained_at),
            open_count=item.open_count,
            click_count=item.click_count,
            machine_open_count=item.machine_open_count,
            machine_click_count=item.machine_click_count,
            error_message=item.error_message,
        )


class Counts(msgspec.Struct):
    """Recipients (`opened`, `clicked`: at least once) and events (`opens`, `clicks`)."""

    opened: int
    clicked: int
    opens: int
    clicks: int


class Rates(msgspec.Struct):
    """Percentages of the messages sent (people only); `click_to_open` of the openers."""

    delivery: float
    open: float
    click: float
    click_to_open: float
    bounce: float
    complaint: float
    unsubscribe: float


class LinkStats(msgspec.Struct):
    link_index: int
    url: str
    clicks: int
    unique_clicks: int
    machine_clicks: int


class SeriesPointOut(msgspec.Struct):
    hour: datetime
    opens: int
    clicks: int
    machine_opens: int
    machine_clicks: int


class CampaignStatsOut(msgspec.Struct):
    """`human` counts people; `machine` counts mail-privacy proxies and link scanners
    (docs/api.md, "Tracking"), which the rates leave out."""

    campaign_id: int
    recipients: int
    sent: int
    delivered: int
    failed: int
    bounced: int
    unsubscribed: int
    complained: int
    human: Counts
    machine: Counts
    rates: Rates
    links: list[LinkStats]
    series: list[SeriesPointOut]

    @classmethod
    def of(cls, stats: CampaignStats) -> CampaignStatsOut:
        return cls(
            campaign_id=stats.campaign_id,
            recipients=stats.recipients,
            sent=stats.sent,
            delivered=stats.delivered,
            failed=stats.failed,
            bounced=stats.bounced,
            unsubscribed=stats.unsubscribed,
            complained=stats.complained,
            human=Counts(stats.opened, stats.clicked, stats.opens, stats.clicks),
            machine=Counts(
                stats.machine_opened,
                stats.machine_clicked,
                stats.machine_opens,
                stats.machine_clicks,
            ),
            rates=Rates(
                delivery=stats.rate(stats.delivered),
                open=stats.rate(stats.opened),
                click=stats.rate(stats.clicked),
                click_to_open=round(100 * stats.clicked / stats.opened, 2) if stats.opened else 0.0,
                bounce=stats.rate(stats.bounced),
                complaint=stats.rate(stats.complained),
                unsubscribe=stats.rate(stats.unsubscribed),
            ),
            links=[
                LinkStats(
                    link_index=link.link_index,
                    url=link.url,
                    clicks=link.clicks,
                    unique_clicks=link.unique_clicks,
                    machine_clicks=link.machine_clicks,
                )
                for link in stats.links
            ],
            series=[
                SeriesPointOut(
                    hour=point.bucket.replace(tzinfo=UTC),
                    opens=point.opens,
                    clicks=point.clicks,
                    machine_opens=point.machine_opens,
                    machine_clicks=point.machine_clicks,
                )
                for point in stats.series
            ],
        )


class CampaignStatsController(Controller):
    path = "/campaigns"
    tags = ["campaigns"]
    dependencies = TRACKING_DEPENDENCIES

    @get(
        "/{campaign_id:int}/stats",
        operation_id="getCampaignStats",
        **access(Scope.READ_ANALYTICS),
    )
    async def campaign_stats(
        self, principal: CurrentPrincipal, tracking: TrackingApi, campaign_id: ResourceId
    ) -> CampaignStatsOut:
        """Figures recomputed from the recipients' rows on each call; events still in the
        tracking buffer (normally a second or two) are not in them yet."""
        return CampaignStatsOut.of(await tracking.campaign_stats(principal, campaign_id))

    @get(
        "/{campaign_id:int}/recipients",
        operation_id="listCampaignRecipients",
        **access(Scope.READ_ANALYTICS),
    )
    async def campaign_recipients(
        self,
        principal: CurrentPrincipal,
        tracking: TrackingApi,
        campaign_id: ResourceId,
        after: AfterCursor = None,
        limit: Annotated[
            int, QueryParameter(ge=1, le=MAX_LIMIT, description="page size")
        ] = DEFAULT_LIMIT,
        status: Annotated[
            RecipientStatus | None, QueryParameter(description="in this state")
        ] = None,
    ) -> CursorPage[RecipientRead]:
        """The campaign's recipients in id order, in keyset pages (`after`)."""
        page = await tracking.campaign_recipients(
            principal, campaign_id, status=status, limit=limit, after=after
        )
        return CursorPage.of(page, RecipientRead.of)
