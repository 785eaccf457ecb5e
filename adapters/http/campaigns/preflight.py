"""`GET /api/v1/campaigns/{id}/preflight`: a dry run of the campaign's start; stores nothing."""

from __future__ import annotations

import msgspec
from litestar import Controller, get

from openmailer.adapters.http.campaigns.dependencies import CAMPAIGNS_DEPENDENCIES, CampaignsApi
from openmailer.adapters.http.pagination import ResourceId
from openmailer.adapters.http.security import CurrentPrincipal, access
from openmailer.core.accounts.scopes import Scope
from openmailer.core.campaigns.model import Preflight


class AudienceRead(msgspec.Struct):
    """`candidates`: distinct contacts in the list and/or segment (`duplicates` were in both
    and count once); excluded from them by status (`unsubscribed`, `bounced`, `complained`,
    `pending`: not confirmed) or a GDPR erasure (`erased`); `recipients`: who would be sent to."""

    list_members: int
    segment_matches: int
    duplicates: int
    candidates: int
    unsubscribed: int
    bounced: int
    complained: int
    pending: int
    erased: int
    recipients: int


class DomainRead(msgspec.Struct):
    id: int
    name: str
    status: str
    spf_verified: bool
    dkim_verified: bool
    dmarc_verified: bool


class ProviderLimitsRead(msgspec.Struct):
    id: int
    name: str
    provider_type: str
    daily_limit: int | None
    monthly_limit: int | None


class ProblemRead(msgspec.Struct):
    code: str
    message: str


class PreflightRead(msgspec.Struct):
    """`blocking`: problems that keep the campaign from being scheduled or started;
    `warnings`: worth fixing, not blocking. `providers`: the chain it would send through, in
    order (empty when only the outbox is reached)."""

    audience: AudienceRead
    domain: DomainRead | None
    outbox_only: bool
    one_click_unsubscribe_signed: bool
    send_speed: int
    estimated_duration_seconds: int
    providers: list[ProviderLimitsRead]
    monthly_limit: int
    monthly_sent: int
    monthly_headroom: int
    template_version: int | None
    blocking: list[ProblemRead]
    warnings: list[ProblemRead]

    @classmethod
    def of(cls, preflight: Preflight) -> PreflightRead:
        return msgspec.convert(preflight, PreflightRead, from_attributes=True)


class CampaignPreflightController(Controller):
    path = "/campaigns"
    tags = ["campaigns"]
    dependencies = CAMPAIGNS_DEPENDENCIES

    @get(
        "/{campaign_id:int}/preflight",
        operation_id="preflightCampaign",
        **access(Scope.READ_CAMPAIGNS),
    )
    async def preflight(
        self, principal: CurrentPrincipal, campaigns: CampaignsApi, campaign_id: ResourceId
    ) -> PreflightRead:
        """Who would receive the campaign and who is excluded and why, the sending domain's
        SPF/DKIM/DMARC state, whether one-click unsubscribe headers are DKIM-signed, the
        estimated duration at `send_speed`, the providers' limits, the monthly headroom, and
        the problems that block a start."""
        return PreflightRead.of(await campaigns.preflight(principal, campaign_id))
