"""Starting, pausing, resuming and re-trying a campaign's send, test sends, and the scheduler's
periodic work (due campaigns, the reconciler).

The start is split at the queue. The API request (or the scheduler) checks the preflight and
moves DRAFT|SCHEDULED -> SENDING in one conditional UPDATE, so of concurrent starts exactly one
wins and the others get 409, then enqueues `start_campaign` and answers 202. A worker prepares
the campaign (`prepare`): compiles the template version once, records its tracked links in
`campaign_links`, materialises the recipients (one INSERT ... SELECT: ~15 s for 100k on this
machine, longer than the API's 10 s statement timeout) and wakes the batch lanes. Preparing is
idempotent: a start whose worker died is prepared again by the reconciler.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from openmailer.core.accounts.model import Principal
from openmailer.core.campaigns.lifecycle import (
    CampaignAction,
    CampaignStatus,
    allowed_sources,
    invalid_transition,
    target_of,
    transition,
)
from openmailer.core.campaigns.model import Campaign, Problem
from openmailer.core.campaigns.services.actions import apply_action
from openmailer.core.campaigns.services.campaigns import campaign_not_found, get_campaign
from openmailer.core.campaigns.services.content import (
    compile_campaign,
    recipient_data,
    template_content,
)
from openmailer.core.campaigns.services.delivery import DeliveryPorts
from openmailer.core.campaigns.services.preflight import (
    PreflightPorts,
    audience_source,
    refuse_if_blocked,
    run_preflight,
)
from openmailer.core.errors import Conflict, ValidationError
from openmailer.core.messages.model import (
    MAX_ADDRESS_CHARS,
    check_header_value,
    looks_like_address,
)
from openmailer.core.ports.campaign_sending import CampaignRef, ClaimedRecipient, Lane
from openmailer.core.ports.rendering import RenderError, TemplateInvalid
from openmailer.core.sending.contract import OutgoingMessage
from openmailer.core.sending.outcomes import OutcomeKind
from openmailer.core.sending.policies import OUTBOX_TYPE
from openmailer.core.sending.services.forms import forms_needed, render_outgoing
from openmailer.core.sending.services.outbox import deliver_batch
from openmailer.core.templates.model import TemplateSyntaxError

log = logging.getLogger("openmailer.campaigns.control")
MAX_TEST_ADDRESSES = 10
RETRYABLE_STATES = frozenset({CampaignStatus.SENDING, CampaignStatus.PAUSED, CampaignStatus.SENT})


@dataclass(frozen=True)
class TestResult:
    email: str
    status: str  # accepted, transient, permanent, render_failed
    detail: str | None
    provider_id: int | None
    outbox: bool


async def start(
    principal: Principal, campaign_id: int, *, delivery: DeliveryPorts, preflight: PreflightPorts
) -> Campaign:
    user = principal.user
    campaigns = delivery.campaigns
    current = await get_campaign(user.id, campaign_id, campaigns=campaigns)
    transition(current.status, CampaignAction.START)
    test_mode = principal.is_test_mode or current.outbox_only
    refuse_if_blocked(await run_preflight(user, current, test_mode=test_mode, ports=preflight))
    if principal.is_test_mode and not current.outbox_only:
        await delivery.store.mark_outbox_only(user.id, campaign_id)
    moved = await campaigns.move(
        user.id,
        campaign_id,
        sources=allowed_sources(CampaignAction.START),
        target=target_of(CampaignAction.START),
    )
    if moved is None:  # a concurrent start (or cancel) won
        now = await campaigns.get(user.id, campaign_id)
        if now is None:
            raise campaign_not_found(campaign_id)
        raise invalid_transition(now.status, CampaignAction.START)
    delivery.queue.start(user.id, campaign_id)
    return moved


async def prepare(
    user_id: int, campaign_id: int, *, delivery: DeliveryPorts, preflight: PreflightPorts
) -> int | None:
    """The worker's half of the start; the recipients' total, or None when the campaign is not
    being sent (or could not be prepared: it is then FAILED)."""
    campaign = await delivery.campaigns.get(user_id, campaign_id)
    if campaign is None or campaign.status not in (CampaignStatus.SENDING, CampaignStatus.PAUSED):
        return None
    await delivery.queue.touch(campaign_id, delivery.settings.lease_seconds)
    found = await template_content(
        user_id, campaign.settings.template_id, campaign.template_version, delivery
    )
    problems: list[Problem] = []
    source = await audience_source(user_id, campaign, preflight, problems)
    if found is None or source is None:
        reason = "template_missing" if found is None else problems[0].code
        await _fail(user_id, campaign_id, reason, delivery)
        return None
    version, content = found
    try:
        prepared = await compile_campaign(campaign, content, version, delivery)
    except TemplateInvalid as error:
        await _fail(user_id, campaign_id, f"template_invalid: {error}", delivery)
        return None
    await delivery.store.record_links(campaign_id, prepared.compiled.links)
    total = await preflight.audience.materialise(
        user_id, campaign_id, source, template_version=version
    )
    if campaign.status is CampaignStatus.SENDING:
        wake(user_id, campaign_id, delivery)
    log.info("campaign_prepared", extra={"campaign_id": campaign_id, "recipients": total})
    return total


async def _fail(user_id: int, campaign_id: int, reason: str, delivery: DeliveryPorts) -> None:
    log.warning("campaign_failed", extra={"campaign_id": campaign_id, "reason": reason})
    await delivery.campaigns.move(
        user_id,
        campaign_id,
        sources=allowed_sources(CampaignAction.FAIL),
        target=target_of(CampaignAction.FAIL),
    )


def wake(user_id: int, campaign_id: int, delivery: DeliveryPorts) -> None:
    """A new chain for every lane; where the lane's chain still runs, the new one ends at its
    first run (see `Lane`)."""
    token = secrets.token_hex(8)
    for index in range(delivery.settings.lanes):
        delivery.queue.batch(user_id, campaign_id, lane=Lane(index, token))


async def pause(principal: Principal, campaign_id: int, *, delivery: DeliveryPorts) -> Campaign:
    """State only: the next claim of every lane sees it; batches in flight finish."""
    return await apply_action(
        principal.user.id, campaign_id, CampaignAction.PAUSE, campaigns=delivery.campaigns
    )


async def resume(principal: Principal, campaign_id: int, *, delivery: DeliveryPorts) -> Campaign:
    """PAUSED -> SENDING, and the lanes woken: they continue with the rows still PENDING."""
    resumed = await apply_action(
        principal.user.id, campaign_id, CampaignAction.RESUME, campaigns=delivery.campaigns
    )
    if resumed.template_version is None:
        delivery.queue.start(principal.user.id, campaign_id)
    else:
        wake(principal.user.id, campaign_id, delivery)
    return resumed


async def retry_failed(
    principal: Principal, campaign_id: int, *, delivery: DeliveryPorts
) -> tuple[Campaign, int]:
    """Recipients that failed transiently (retries exhausted) are PENDING again; a SENT campaign
    is SENDING again for them (RETRY). Permanent, ambiguous and skipped failures stay."""
    user_id = principal.user.id
    campaigns = delivery.campaigns
    current = await get_campaign(user_id, campaign_id, campaigns=campaigns)
    if current.status not in RETRYABLE_STATES:
        raise Conflict(
            f"a {current.status.value} campaign has no failed recipients to retry",
            code="invalid_transition",
        )
    count = await delivery.store.retry_failed(user_id, campaign_id)
    if count and current.status is CampaignStatus.SENT:
        await apply_action(user_id, campaign_id, CampaignAction.RETRY, campaigns=campaigns)
    refreshed = await get_campaign(user_id, campaign_id, campaigns=campaigns)
    if count and refreshed.status is CampaignStatus.SENDING:
        wake(user_id, campaign_id, delivery)
    return refreshed, count


async def send_test(
    principal: Principal, campaign_id: int, emails: Sequence[str], *, delivery: DeliveryPorts
) -> list[TestResult]:
    """The campaign rendered for each address (no contact: its variables' defaults) and sent
    through the chain, or to the outbox for an `om_test_` key; neither counted nor recorded as
    recipients."""
    user_id = principal.user.id
    campaign = await get_campaign(user_id, campaign_id, campaigns=delivery.campaigns)
    if not 1 <= len(emails) <= MAX_TEST_ADDRESSES:
        raise ValidationError(f"give 1 to {MAX_TEST_ADDRESSES} addresses", field="emails")
    for email in emails:
        check_header_value(email, field_name="emails", max_chars=MAX_ADDRESS_CHARS)
        if not looks_like_address(email):
            raise ValidationError(f"{email!r} is not an email address", field="emails")
    found = await template_content(user_id, campaign.settings.template_id, None, delivery)
    if found is None:
        raise Conflict("the campaign's template is gone", code="template_missing")
    try:
        prepared = await compile_campaign(campaign, found[1], found[0], delivery)
    except TemplateInvalid as error:
        raise TemplateSyntaxError.of(error) from None
    outbox_only = principal.is_test_mode or campaign.outbox_only
    chain = (
        []
        if outbox_only
        else await delivery.chain.providers_of(user_id, first=campaign.settings.provider_id)
    )
    if not prepared.domain_verified:
        chain = [p for p in chain if p.provider_type == OUTBOX_TYPE]
        if not outbox_only and not chain and await delivery.chain.providers_of(user_id):
            raise ValidationError(
                "a test sent through a provider needs a VERIFIED sending domain",
                field="from_email",
                code="domain_not_verified",
            )
    types = [t for p in chain if (t := delivery.provider_types.get(p.provider_type)) is not None]
    rows = [
        ClaimedRecipient(id=0, tracking_id=f"test{secrets.token_hex(12)}", email=email)
        for email in emails
    ]
    assert campaign.settings.from_email is not None
    rendered = render_outgoing(
        forms_needed(types),
        delivery.renderer,
        prepared.compiled,
        [recipient_data(r, prepared.tracking_key) for r in rows],
        sender=campaign.settings.from_email,
        timestamp=int(delivery.clock.now().timestamp()),
    )
    messages = [m for m in rendered if isinstance(m, OutgoingMessage)]
    deliveries = await deliver_batch(
        user_id,
        chain,
        messages,
        chain=delivery.chain,
        provider_types=delivery.provider_types,
        outbox=delivery.outbox,
        clock=delivery.clock,
    )
    answers = iter(deliveries)
    outbox_ids = {p.id for p in chain if p.provider_type == OUTBOX_TYPE}
    results = []
    for email, outcome in zip(emails, rendered, strict=True):
        if isinstance(outcome, RenderError):
            results.append(TestResult(email, "render_failed", outcome.error, None, False))
            continue
        d = next(answers)
        detail = None if d.outcome.kind is OutcomeKind.ACCEPTED else d.outcome.detail
        outbox = d.provider_id is None or d.provider_id in outbox_ids
        results.append(TestResult(email, d.outcome.kind.value, detail, d.provider_id, outbox))
    return results


async def start_due(*, delivery: DeliveryPorts, preflight: PreflightPorts) -> list[int]:
    """The scheduler's start of SCHEDULED campaigns whose time has passed: the same conditional
    move as the API's (several schedulers start each once). A campaign whose preflight is now
    blocked (its domain lost verification, say) is FAILED rather than retried forever."""
    started = []
    for ref in await delivery.store.due_scheduled(delivery.clock.now()):
        if await _start_scheduled(ref, delivery=delivery, preflight=preflight):
            started.append(ref.campaign_id)
    return started


async def _start_scheduled(
    ref: CampaignRef, *, delivery: DeliveryPorts, preflight: PreflightPorts
) -> bool:
    campaigns = delivery.campaigns
    campaign = await campaigns.get(ref.user_id, ref.campaign_id)
    user = await delivery.users.get(ref.user_id)
    if campaign is None or user is None:
        return False
    report = await run_preflight(user, campaign, test_mode=campaign.outbox_only, ports=preflight)
    target = target_of(CampaignAction.START)
    if report.blocking:
        target = CampaignStatus.FAILED
        codes = ", ".join(problem.code for problem in report.blocking)
        log.warning(
            "scheduled_campaign_blocked", extra={"campaign_id": campaign.id, "problems": codes}
        )
    moved = await campaigns.move(
        ref.user_id, ref.campaign_id, sources=frozenset({CampaignStatus.SCHEDULED}), target=target
    )
    if moved is None or target is not CampaignStatus.SENDING:
        return False
    delivery.queue.start(ref.user_id, ref.campaign_id)
    return True


async def reconcile(*, delivery: DeliveryPorts) -> list[int]:
    """Expired leases back to PENDING (possible duplicates); every SENDING campaign that no
    worker touched lately is woken (prepared again when it never was, lanes otherwise), and
    finished ones completed. The campaigns woken."""
    await delivery.store.reclaim_expired()
    woken = []
    for ref in await delivery.store.campaigns_sending():
        if await delivery.store.complete_if_done(ref.campaign_id):
            continue
        if await delivery.queue.is_active(ref.campaign_id):
            continue
        campaign = await delivery.campaigns.get(ref.user_id, ref.campaign_id)
        if campaign is None or campaign.status is not CampaignStatus.SENDING:
            continue
        if campaign.template_version is None:
            delivery.queue.start(ref.user_id, ref.campaign_id)
        else:
            wake(ref.user_id, ref.campaign_id, delivery)
        woken.append(ref.campaign_id)
    return woken
