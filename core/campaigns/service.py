"""The campaigns area bound to its ports once: what the controllers (and, with the send path,
the workers and the scheduler) call."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from openmailer.core.accounts.model import Principal
from openmailer.core.campaigns.lifecycle import CampaignAction, CampaignStatus
from openmailer.core.campaigns.model import Campaign, CampaignSettings, Preflight
from openmailer.core.campaigns.services import actions, campaigns
from openmailer.core.campaigns.services.campaigns import References
from openmailer.core.campaigns.services.preflight import PreflightPorts, run_preflight
from openmailer.core.pages import Page
from openmailer.core.ports.accounts import Clock
from openmailer.core.ports.campaigns import CampaignAudience, CampaignRepository
from openmailer.core.registry import Registry
from openmailer.core.segments.operators import SegmentOperator


@dataclass(frozen=True)
class CampaignsPorts:
    campaigns: CampaignRepository
    refs: References
    audience: CampaignAudience
    operators: Registry[SegmentOperator]
    clock: Clock

    @property
    def preflight(self) -> PreflightPorts:
        return PreflightPorts(refs=self.refs, audience=self.audience, operators=self.operators)


class CampaignsService:
    def __init__(self, ports: CampaignsPorts) -> None:
        self.ports = ports

    async def create_campaign(self, principal: Principal, settings: CampaignSettings) -> Campaign:
        p = self.ports
        return await campaigns.create_campaign(
            principal.user.id, settings, campaigns=p.campaigns, refs=p.refs
        )

    async def get_campaign(self, principal: Principal, campaign_id: int) -> Campaign:
        return await campaigns.get_campaign(
            principal.user.id, campaign_id, campaigns=self.ports.campaigns, archived_ok=True
        )

    async def list_campaigns(
        self,
        principal: Principal,
        *,
        status: CampaignStatus | None,
        limit: int,
        offset: int,
        archived: bool = False,
    ) -> Page[Campaign]:
        return await campaigns.list_campaigns(
            principal.user.id,
            status=status,
            limit=limit,
            offset=offset,
            campaigns=self.ports.campaigns,
            archived=archived,
        )

    async def update_campaign(
        self, principal: Principal, campaign_id: int, changes: Mapping[str, Any]
    ) -> Campaign:
        p = self.ports
        return await campaigns.update_campaign(
            principal.user.id, campaign_id, changes, campaigns=p.campaigns, refs=p.refs
        )

    async def delete_campaign(self, principal: Principal, campaign_id: int) -> None:
        await campaigns.delete_campaign(
            principal.user.id, campaign_id, campaigns=self.ports.campaigns
        )

    async def preflight(self, principal: Principal, campaign_id: int) -> Preflight:
        p = self.ports
        campaign = await campaigns.get_campaign(
            principal.user.id, campaign_id, campaigns=p.campaigns
        )
        return await run_preflight(
            principal.user, campaign, test_mode=principal.is_test_mode, ports=p.preflight
        )

    async def schedule(
        self, principal: Principal, campaign_id: int, scheduled_at: datetime | None
    ) -> Campaign:
        p = self.ports
        return await actions.schedule(
            principal.user,
            campaign_id,
            scheduled_at,
            test_mode=principal.is_test_mode,
            now=p.clock.now(),
            campaigns=p.campaigns,
            preflight=p.preflight,
        )

    async def act(self, principal: Principal, campaign_id: int, action: CampaignAction) -> Campaign:
        """An action that needs nothing but the state (unschedule, cancel, pause, ...). Schedule
        and start are refused here: they must pass the preflight (`schedule`; the send path's
        start calls `refuse_if_blocked` before it moves)."""
        if action in (CampaignAction.SCHEDULE, CampaignAction.START):
            raise ValueError(f"{action.value} is not a plain action")
        return await actions.apply_action(
            principal.user.id, campaign_id, action, campaigns=self.ports.campaigns
        )

    async def materialise_recipients(self, user_id: int, campaign_id: int) -> int:
        p = self.ports
        return await actions.materialise_recipients(
            user_id, campaign_id, campaigns=p.campaigns, preflight=p.preflight
        )
