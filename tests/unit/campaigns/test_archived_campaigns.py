"""An archived campaign is read, never acted on: the core's one place that fetches a campaign
for an action refuses it, whatever its (final) state would otherwise allow."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from openmailer.core.campaigns.lifecycle import CampaignAction, CampaignStatus
from openmailer.core.campaigns.model import Campaign, CampaignSettings
from openmailer.core.campaigns.services.actions import apply_action
from openmailer.core.campaigns.services.campaigns import get_campaign
from openmailer.core.errors import Conflict

pytestmark = pytest.mark.unit
MOMENT = datetime(2024, 1, 1, tzinfo=UTC)
SENT = Campaign(
    id=7,
    user_id=1,
    status=CampaignStatus.SENT,
    settings=CampaignSettings(name="June news", template_id=3),
    scheduled_at=None,
    sent_at=MOMENT,
    total_recipients=2,
    sent_count=2,
    failed_count=0,
    template_version=1,
    created_at=MOMENT,
    updated_at=MOMENT,
)
ARCHIVED = replace(SENT, archived_at=MOMENT)


class OneCampaign:
    """The repository's `get` and `move` (the only calls these paths make)."""

    def __init__(self, campaign: Campaign) -> None:
        self.campaign = campaign
        self.moves = 0

    async def get(self, user_id: int, campaign_id: int) -> Campaign | None:
        return self.campaign if (user_id, campaign_id) == (1, 7) else None

    async def move(self, *args: Any, **kwargs: Any) -> Campaign | None:
        self.moves += 1
        return self.campaign


async def test_reading_an_archived_campaign_is_allowed() -> None:
    found = await get_campaign(1, 7, campaigns=OneCampaign(ARCHIVED), archived_ok=True)  # type: ignore[arg-type]
    assert found.archived_at == MOMENT


async def test_acting_on_an_archived_campaign_is_refused_before_anything_moves() -> None:
    repository = OneCampaign(ARCHIVED)
    with pytest.raises(Conflict) as refused:
        await apply_action(1, 7, CampaignAction.RETRY, campaigns=repository)  # type: ignore[arg-type]
    assert refused.value.code == "campaign_archived" and repository.moves == 0


async def test_a_live_campaign_moves_as_before() -> None:
    repository = OneCampaign(SENT)
    assert await apply_action(1, 7, CampaignAction.RETRY, campaigns=repository) == SENT  # type: ignore[arg-type]
    assert repository.moves == 1
