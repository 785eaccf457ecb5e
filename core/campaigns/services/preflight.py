"""Preflight: a dry run of a campaign's start that stores nothing. What it would send to whom,
through what, how long it would take, and the problems that block the start.

The rules here are the start's own: `schedule` refuses a campaign with a blocking problem, and
so must the send path's start (`refuse_if_blocked`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from openmailer.core.accounts.model import User
from openmailer.core.campaigns.model import (
    AudienceBreakdown,
    AudienceSource,
    Campaign,
    DomainReadiness,
    Preflight,
    Problem,
    ProviderLimits,
    TemplateSnapshot,
)
from openmailer.core.campaigns.services.campaigns import References
from openmailer.core.domains.model import Domain
from openmailer.core.errors import Conflict, ValidationError
from openmailer.core.messages.model import domain_of
from openmailer.core.ports.campaigns import CampaignAudience
from openmailer.core.registry import Registry
from openmailer.core.segments.conditions import parse_conditions
from openmailer.core.segments.operators import SegmentOperator
from openmailer.core.sending.chain import active_providers
from openmailer.core.sending.model import Provider, ProviderStatus
from openmailer.core.sending.policies import reaches_only_outbox, sender_domain_ready


@dataclass(frozen=True)
class PreflightPorts:
    refs: References
    audience: CampaignAudience
    operators: Registry[SegmentOperator]


async def audience_source(
    user_id: int, campaign: Campaign, ports: PreflightPorts, problems: list[Problem]
) -> AudienceSource | None:
    """The campaign's list and segment as they are now (either may have been deleted since:
    the reference is then NULL); None, with the problem noted, when nothing is left to send to."""
    settings = campaign.settings
    segment = None
    if settings.segment_id is not None:
        segment = await ports.refs.segments.get(user_id, settings.segment_id)
    if settings.list_id is None and segment is None:
        problems.append(Problem("no_audience", "the campaign has no list or segment left"))
        return None
    if segment is None:
        return AudienceSource(list_id=settings.list_id, segment=None, segment_list_id=None)
    try:
        conditions = parse_conditions(segment.conditions, ports.operators)
    except ValidationError as error:
        # an operator whose plugin was uninstalled since the segment was saved
        problems.append(Problem("segment_invalid", f"segment {segment.id}: {error.detail}"))
        return None
    return AudienceSource(
        list_id=settings.list_id, segment=conditions, segment_list_id=segment.list_id
    )


async def _providers(
    user_id: int, campaign: Campaign, ports: PreflightPorts, problems: list[Problem]
) -> list[Provider]:
    provider_id = campaign.settings.provider_id
    if provider_id is None:
        return await active_providers(user_id, ports.refs.providers)
    provider = await ports.refs.providers.get(user_id, provider_id)
    if provider is None or not provider.is_active or provider.status == ProviderStatus.DISABLED:
        problems.append(
            Problem("provider_unavailable", f"provider {provider_id} is missing or inactive")
        )
        return []
    return [provider]


def _template_problems(template: TemplateSnapshot | None, template_id: int) -> list[Problem]:
    if template is None:
        return [Problem("template_missing", f"template {template_id} does not exist")]
    if not template.is_active:
        return [Problem("template_inactive", f"template {template_id} is not active")]
    return []


def _domain_readiness(domain: Domain | None) -> DomainReadiness | None:
    if domain is None:
        return None
    return DomainReadiness(
        id=domain.id,
        name=domain.name,
        status=domain.status.value,
        spf_verified=domain.spf.verified,
        dkim_verified=domain.dkim_check.verified,
        dmarc_verified=domain.dmarc.verified,
    )


def _domain_warnings(readiness: DomainReadiness | None) -> list[Problem]:
    if readiness is None:
        return []
    return [
        Problem(f"{record.lower()}_not_verified", f"{readiness.name}: {record} is not verified")
        for record, verified in (
            ("SPF", readiness.spf_verified),
            ("DKIM", readiness.dkim_verified),
            ("DMARC", readiness.dmarc_verified),
        )
        if not verified
    ]


async def run_preflight(
    user: User, campaign: Campaign, *, test_mode: bool, ports: PreflightPorts
) -> Preflight:
    settings = campaign.settings
    template = await ports.refs.templates.get(user.id, settings.template_id)
    blocking = _template_problems(template, settings.template_id)
    warnings: list[Problem] = []
    source = await audience_source(user.id, campaign, ports, blocking)
    breakdown = (
        AudienceBreakdown() if source is None else await ports.audience.breakdown(user.id, source)
    )
    if source is not None and breakdown.recipients == 0:
        blocking.append(Problem("no_recipients", "no contact is left to send to"))
    chain = await _providers(user.id, campaign, ports, blocking)
    outbox_only = reaches_only_outbox(chain[0] if chain else None, test_mode=test_mode)
    domain = None
    if settings.domain_id is not None:
        domain = await ports.refs.domains.get(user.id, settings.domain_id)
    if not sender_domain_ready(domain, outbox_only=outbox_only):
        blocking.append(
            Problem(
                "domain_not_verified",
                "a campaign sent through a provider needs a VERIFIED sending domain (domain_id)",
            )
        )
    readiness = _domain_readiness(domain)
    warnings += _domain_warnings(readiness)
    # sender_rs over-signs List-Unsubscribe and List-Unsubscribe-Post with every DKIM key it is
    # given (h= of sender_rs/src/batch.rs); the keys are the From domain's.
    signed = (
        domain is not None
        and domain.dkim is not None
        and settings.from_email is not None
        and domain_of(settings.from_email) == domain.name
    )
    if not signed and not outbox_only:
        warnings.append(
            Problem("unsubscribe_unsigned", "one-click unsubscribe headers will not be signed")
        )
    headroom = max(0, user.monthly_email_limit - user.monthly_emails_sent)
    if breakdown.recipients > headroom:
        blocking.append(
            Problem(
                "monthly_limit_exceeded",
                f"{breakdown.recipients} recipients but {headroom} emails left this month",
            )
        )
    for provider in chain:
        if provider.daily_limit is not None and breakdown.recipients > provider.daily_limit:
            warnings.append(
                Problem(
                    "provider_daily_limit",
                    f"provider {provider.id} sends at most {provider.daily_limit} a day",
                )
            )
    return Preflight(
        audience=breakdown,
        domain=readiness,
        outbox_only=outbox_only,
        one_click_unsubscribe_signed=signed,
        send_speed=settings.send_speed,
        estimated_duration_seconds=math.ceil(breakdown.recipients / settings.send_speed),
        providers=[
            ProviderLimits(p.id, p.provider_name, p.provider_type, p.daily_limit, p.monthly_limit)
            for p in chain
        ],
        monthly_limit=user.monthly_email_limit,
        monthly_sent=user.monthly_emails_sent,
        monthly_headroom=headroom,
        template_version=None if template is None else template.version,
        blocking=blocking,
        warnings=warnings,
    )


def refuse_if_blocked(preflight: Preflight) -> None:
    if preflight.blocking:
        codes = ", ".join(problem.code for problem in preflight.blocking)
        raise Conflict(
            f"the campaign cannot start: {codes} (see its preflight)", code="preflight_blocked"
        )
