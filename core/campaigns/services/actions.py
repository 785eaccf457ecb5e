"""Lifecycle actions and the first step of the send path (materialising the recipients).

Every move is one conditional UPDATE (`CampaignRepository.move`): the state read first only
chooses the error; the database decides which of two concurrent requests wins.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from openmailer.core.accounts.model import User, in_utc
from openmailer.core.campaigns.lifecycle import (
    CampaignAction,
    CampaignStatus,
    allowed_sources,
    invalid_transition,
    target_of,
    transition,
)
from openmailer.core.campaigns.model import MAX_SCHEDULE_AHEAD_DAYS, Campaign, Problem
from openmailer.core.campaigns.services.campaigns import campaign_not_found, get_campaign
from openmailer.core.campaigns.services.preflight import (
    PreflightPorts,
    audience_source,
    refuse_if_blocked,
    run_preflight,
)
from openmailer.core.errors import Conflict, ValidationError
from openmailer.core.ports.campaigns import CampaignRepository

# The states in which the send path may (re)materialise: a start that crashed after the move
# to SENDING runs it again, and a paused campaign may still be missing its rows.
MATERIALISABLE = frozenset({CampaignStatus.SENDING, CampaignStatus.PAUSED})


async def apply_action(
    user_id: int,
    campaign_id: int,
    action: CampaignAction,
    *,
    campaigns: CampaignRepository,
    scheduled_at: datetime | None = None,
) -> Campaign:
    """Moves the campaign by `action`, or raises invalid_transition naming the state it is in
    (the one a concurrent winner left it in)."""
    current = await get_campaign(user_id, campaign_id, campaigns=campaigns)
    transition(current.status, action)
    moved = await campaigns.move(
        user_id,
        campaign_id,
        sources=allowed_sources(action),
        target=target_of(action),
        scheduled_at=scheduled_at,
        clear_schedule=action is CampaignAction.UNSCHEDULE,
    )
    if moved is not None:
        return moved
    now = await campaigns.get(user_id, campaign_id)
    if now is None:
        raise campaign_not_found(campaign_id)
    raise invalid_transition(now.status, action)


def check_schedule_time(scheduled_at: datetime | None, now: datetime) -> datetime:
    if scheduled_at is None:
        raise ValidationError("scheduled_at is required", field="scheduled_at")
    if scheduled_at.tzinfo is None:
        raise ValidationError("scheduled_at needs a time zone (RFC 3339)", field="scheduled_at")
    if scheduled_at <= now:
        raise ValidationError(
            "scheduled_at must be in the future", field="scheduled_at", code="not_in_future"
        )
    if scheduled_at > now + timedelta(days=MAX_SCHEDULE_AHEAD_DAYS):
        raise ValidationError(
            f"scheduled_at is at most {MAX_SCHEDULE_AHEAD_DAYS} days ahead", field="scheduled_at"
        )
    return scheduled_at


async def schedule(
    user: User,
    campaign_id: int,
    scheduled_at: datetime | None,
    *,
    test_mode: bool,
    now: datetime,
    campaigns: CampaignRepository,
    preflight: PreflightPorts,
) -> Campaign:
    # A time no datetime can hold in UTC is a malformed body, refused before any lookup; after
    # that, another user's campaign is 404 before anything else about the body is judged.
    if scheduled_at is not None and scheduled_at.tzinfo is not None:
        scheduled_at = in_utc(scheduled_at, field="scheduled_at")
    current = await get_campaign(user.id, campaign_id, campaigns=campaigns)
    at = check_schedule_time(scheduled_at, now)
    transition(current.status, CampaignAction.SCHEDULE)
    refuse_if_blocked(await run_preflight(user, current, test_mode=test_mode, ports=preflight))
    return await apply_action(
        user.id,
        campaign_id,
        CampaignAction.SCHEDULE,
        campaigns=campaigns,
        scheduled_at=at,
    )


async def materialise_recipients(
    user_id: int, campaign_id: int, *, campaigns: CampaignRepository, preflight: PreflightPorts
) -> int:
    """The send path's first step, for a campaign already moved to SENDING: one row per eligible
    contact (idempotent), `total_recipients` and the template version it sends recorded. The
    total."""
    campaign = await get_campaign(user_id, campaign_id, campaigns=campaigns)
    if campaign.status not in MATERIALISABLE:
        raise Conflict(
            f"a {campaign.status.value} campaign has no recipients to materialise",
            code="campaign_not_sending",
        )
    template = await preflight.refs.templates.get(user_id, campaign.settings.template_id)
    if template is None:
        raise Conflict("the campaign's template is gone", code="template_missing")
    problems: list[Problem] = []
    source = await audience_source(user_id, campaign, preflight, problems)
    if source is None:
        raise Conflict(problems[0].message, code=problems[0].code)
    return await preflight.audience.materialise(
        user_id, campaign_id, source, template_version=template.version
    )
