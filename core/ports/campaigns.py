"""Ports of the campaigns area: the campaigns table, the templates as a campaign sees them, and
the audience counted and materialised in SQL."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from openmailer.core.campaigns.lifecycle import CampaignStatus
from openmailer.core.campaigns.model import (
    AudienceBreakdown,
    AudienceSource,
    Campaign,
    CampaignSettings,
    TemplateSnapshot,
)
from openmailer.core.pages import Page


class CampaignRepository(Protocol):
    async def add(self, user_id: int, settings: CampaignSettings) -> Campaign: ...

    async def get(self, user_id: int, campaign_id: int) -> Campaign | None:
        """Only the owner's campaign: another user's is None, as if it did not exist. An
        archived campaign too, with its `archived_at`."""
        ...

    async def list_for_user(
        self,
        user_id: int,
        *,
        status: CampaignStatus | None,
        limit: int,
        offset: int,
        archived: bool = False,
    ) -> Page[Campaign]:
        """Newest first; the live campaigns, or with `archived` the archived ones."""
        ...

    async def update(
        self,
        user_id: int,
        campaign_id: int,
        changes: Mapping[str, Any],
        *,
        when: frozenset[CampaignStatus],
    ) -> Campaign | None:
        """Sets the settings named, only while the status is one of `when` (a conditional
        UPDATE: a campaign scheduled meanwhile is not changed). None when nothing was updated."""
        ...

    async def delete(
        self, user_id: int, campaign_id: int, *, when: frozenset[CampaignStatus]
    ) -> bool:
        """Deletes only while the status is one of `when`."""
        ...

    async def move(
        self,
        user_id: int,
        campaign_id: int,
        *,
        sources: frozenset[CampaignStatus],
        target: CampaignStatus,
        scheduled_at: datetime | None = None,
        clear_schedule: bool = False,
    ) -> Campaign | None:
        """One conditional UPDATE to `target` from one of `sources` (`... AND status =
        ANY(:sources) RETURNING`): of concurrent moves exactly one succeeds. None when the
        campaign is absent or in another state."""
        ...


class CampaignTemplates(Protocol):
    """The one coupling to the templates area: bind it to that area's repository at merge."""

    async def get(self, user_id: int, template_id: int) -> TemplateSnapshot | None:
        """The caller's template with its current version; another user's is None."""
        ...


class CampaignAudience(Protocol):
    async def breakdown(self, user_id: int, source: AudienceSource) -> AudienceBreakdown:
        """Set-based counts of who would receive the campaign and who is excluded, and why."""
        ...

    async def materialise(
        self, user_id: int, campaign_id: int, source: AudienceSource, *, template_version: int
    ) -> int:
        """In one transaction: `INSERT INTO campaign_recipients ... SELECT ... ON CONFLICT DO
        NOTHING` over the eligible audience, then the campaign's `total_recipients` (the rows it
        now has) and `template_version`. Running it again adds nothing. The total."""
        ...


__all__ = ["CampaignAudience", "CampaignRepository", "CampaignTemplates"]
