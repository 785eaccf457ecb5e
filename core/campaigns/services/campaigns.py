"""Creating, reading, changing and deleting campaigns; every reference is checked to be the
caller's (another user's list, segment, template, domain or provider answers like an absent
one)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from openmailer.core.campaigns.lifecycle import EDITABLE_STATES, CampaignStatus, not_editable
from openmailer.core.campaigns.model import (
    Campaign,
    CampaignSettings,
    check_settings,
    settings_changes,
)
from openmailer.core.errors import Conflict, NotFound, ValidationError
from openmailer.core.messages.model import domain_of
from openmailer.core.pages import Page
from openmailer.core.ports.campaigns import CampaignRepository, CampaignTemplates
from openmailer.core.ports.domains import DomainRepository
from openmailer.core.ports.segments import AudienceQuery, SegmentRepository
from openmailer.core.ports.sending import ProviderRepository


@dataclass(frozen=True)
class References:
    """Where a campaign's references are looked up, each within the caller's own rows."""

    templates: CampaignTemplates
    lists: AudienceQuery
    segments: SegmentRepository
    domains: DomainRepository
    providers: ProviderRepository


def campaign_not_found(campaign_id: int) -> NotFound:
    return NotFound(f"campaign {campaign_id} not found", code="campaign_not_found")


def campaign_archived(campaign_id: int) -> Conflict:
    return Conflict(
        f"campaign {campaign_id} is archived: it can be read (its statistics remain), not"
        " changed, sent or retried",
        code="campaign_archived",
    )


def _absent(kind: str, value: int) -> NotFound:
    return NotFound(f"{kind} {value} not found", code=f"{kind}_not_found")


async def _check_references(
    user_id: int, settings: CampaignSettings, changed: frozenset[str], refs: References
) -> None:
    """Only the references named in `changed` are looked up (a PATCH of the name does not
    fail because the list was deleted since)."""
    s = settings
    if "template_id" in changed and await refs.templates.get(user_id, s.template_id) is None:
        raise _absent("template", s.template_id)
    if (
        "list_id" in changed
        and s.list_id is not None
        and not await refs.lists.list_exists(user_id, s.list_id)
    ):
        raise _absent("list", s.list_id)
    if (
        "segment_id" in changed
        and s.segment_id is not None
        and await refs.segments.get(user_id, s.segment_id) is None
    ):
        raise _absent("segment", s.segment_id)
    if (
        "provider_id" in changed
        and s.provider_id is not None
        and await refs.providers.get(user_id, s.provider_id) is None
    ):
        raise _absent("provider", s.provider_id)
    if changed & {"domain_id", "from_email"} and s.domain_id is not None:
        domain = await refs.domains.get(user_id, s.domain_id)
        if domain is None:
            raise _absent("domain", s.domain_id)
        assert s.from_email is not None  # check_settings ran first
        if domain_of(s.from_email) != domain.name:
            raise ValidationError(
                f"from_email must be an address at {domain.name}, the campaign's domain",
                field="from_email",
                code="from_domain_mismatch",
            )


async def create_campaign(
    user_id: int, settings: CampaignSettings, *, campaigns: CampaignRepository, refs: References
) -> Campaign:
    settings = dataclasses.replace(settings, name=settings.name.strip())
    check_settings(settings)
    await _check_references(
        user_id, settings, frozenset(CampaignSettings.__dataclass_fields__), refs
    )
    return await campaigns.add(user_id, settings)


async def get_campaign(
    user_id: int, campaign_id: int, *, campaigns: CampaignRepository, archived_ok: bool = False
) -> Campaign:
    """The caller's campaign to act on: an archived one is refused (409 `campaign_archived`)
    unless `archived_ok` (reading it)."""
    campaign = await campaigns.get(user_id, campaign_id)
    if campaign is None:
        raise campaign_not_found(campaign_id)
    if campaign.archived_at is not None and not archived_ok:
        raise campaign_archived(campaign_id)
    return campaign


async def list_campaigns(
    user_id: int,
    *,
    status: CampaignStatus | None,
    limit: int,
    offset: int,
    campaigns: CampaignRepository,
    archived: bool = False,
) -> Page[Campaign]:
    return await campaigns.list_for_user(
        user_id, status=status, limit=limit, offset=offset, archived=archived
    )


async def update_campaign(
    user_id: int,
    campaign_id: int,
    changes: Mapping[str, Any],
    *,
    campaigns: CampaignRepository,
    refs: References,
) -> Campaign:
    """Only a DRAFT changes; the merged settings obey the same rules as a new campaign's."""
    current = await get_campaign(user_id, campaign_id, campaigns=campaigns)
    if current.status not in EDITABLE_STATES:
        raise not_editable(current.status)
    values = dict(settings_changes(dict(changes)))
    if isinstance(values.get("name"), str):
        values["name"] = values["name"].strip()
    merged = dataclasses.replace(current.settings, **values)
    check_settings(merged)
    await _check_references(user_id, merged, frozenset(values), refs)
    updated = await campaigns.update(user_id, campaign_id, values, when=EDITABLE_STATES)
    if updated is None:  # scheduled or deleted since it was read
        return await _refused(user_id, campaign_id, campaigns)
    return updated


async def delete_campaign(user_id: int, campaign_id: int, *, campaigns: CampaignRepository) -> None:
    if not await campaigns.delete(user_id, campaign_id, when=EDITABLE_STATES):
        await _refused(user_id, campaign_id, campaigns)


async def _refused(user_id: int, campaign_id: int, campaigns: CampaignRepository) -> Campaign:
    current = await get_campaign(user_id, campaign_id, campaigns=campaigns)
    raise not_editable(current.status)
