"""The campaign send path's worker side: compile once, then claim, render, deliver and record one
leased batch at a time (DESIGN.md, "The send path", steps 2-6).

A batch run is one dramatiq message carrying ids only (user, campaign); the worker claims the
batch itself, so a message that is delivered twice or late claims whatever is left, and a lost
one delays the campaign until the reconciler wakes it (`reconcile`), never skips anyone. Each
run enqueues exactly one next run of its "lane", right after its claim commits (so the next
batch is claimed while this one sends, and the queue is never empty for the workers, whose
consumers back off up to 5 s when they find it empty), or later when nothing was claimable. A
campaign is sent by `SendSettings.lanes` such chains at once; they stop by themselves when the
campaign is no longer SENDING (pause, cancel) or nothing is left to send.

A campaign whose sending domain is no longer VERIFIED when a run starts (a re-check found its
records gone), and whose first provider is a real one, is PAUSED before anything is claimed: the
preflight's rule holds through the send, and the mail is not diverted to the outbox.

Order within a run, so that a crash at any point loses nobody:

1. the send-speed bucket (Redis, shared by every worker) grants up to a batch of sends;
2. the claim commits PENDING -> SENDING with a lease, skipping contacts unsubscribed, bounced or
   complained since materialisation, and counts the batch against the user's monthly limit;
3. sender_rs renders and signs the batch in one call; the provider chain delivers it;
4. one transaction writes every row's result (only rows still under this run's lease), appends
   the email_logs, moves the counters. A worker killed between 2 and 4 leaves SENDING rows whose
   lease expires; the reconciler puts them back to PENDING marked `possible_duplicate`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from openmailer.core.campaigns.lifecycle import CampaignStatus
from openmailer.core.campaigns.model import Campaign
from openmailer.core.campaigns.services.content import (
    CompiledCache,
    Prepared,
    compile_campaign,
    recipient_data,
    sending_domain,
    template_content,
)
from openmailer.core.ports.accounts import Clock, SecretBox, UserRepository
from openmailer.core.ports.campaign_sending import (
    CampaignQueue,
    CampaignSendStore,
    ClaimedRecipient,
    DeliveryObserver,
    Failure,
    Lane,
    NoDeliveryObserver,
    RecipientResult,
    RecipientState,
    SendThrottle,
    TrackingKeySource,
)
from openmailer.core.ports.campaigns import CampaignRepository, CampaignTemplates
from openmailer.core.ports.domains import DomainRepository
from openmailer.core.ports.rendering import (
    MessageRenderer,
    RenderError,
)
from openmailer.core.ports.sending import OutboxStore
from openmailer.core.ports.templates import TemplateRepository
from openmailer.core.registry import Registry
from openmailer.core.sending.chain import Delivery, ProviderChain
from openmailer.core.sending.contract import OutgoingMessage, ProviderType
from openmailer.core.sending.model import Provider
from openmailer.core.sending.outcomes import OutcomeKind
from openmailer.core.sending.policies import OUTBOX_TYPE, reaches_only_outbox, sender_domain_ready
from openmailer.core.sending.services.forms import forms_needed, render_outgoing
from openmailer.core.sending.services.outbox import deliver_batch

log = logging.getLogger("openmailer.campaigns.delivery")
MAX_ERROR_CHARS = 2000
MAX_BACKOFF_SECONDS = 15 * 60.0
# A run waits at most this long for the send-speed bucket before it gives its turn back to the
# queue (a thread parked for minutes would hold a worker thread for nothing).
MAX_THROTTLE_WAIT_SECONDS = 5.0
# An idle lane looks again after its campaign's next backoff ends or a batch in flight is
# recorded: not sooner than this (the rows others hold are locked only while they are claimed),
# and not later than this (a backoff of minutes is waited for in steps, each touching the
# campaign so the reconciler does not take the lane for lost).
MIN_IDLE_SECONDS = 0.2
MAX_IDLE_SECONDS = 30.0


@dataclass(frozen=True)
class SendSettings:
    batch_size: int = 250
    lease_seconds: float = 120.0
    retry_backoff_seconds: float = 10.0
    lanes: int = 8


@dataclass(frozen=True)
class DeliveryPorts:
    campaigns: CampaignRepository
    store: CampaignSendStore
    templates: CampaignTemplates
    template_versions: TemplateRepository
    domains: DomainRepository
    renderer: MessageRenderer
    chain: ProviderChain
    provider_types: Registry[ProviderType]
    outbox: OutboxStore
    secret_box: SecretBox
    tracking_key: TrackingKeySource
    throttle: SendThrottle
    queue: CampaignQueue
    users: UserRepository
    clock: Clock
    base_url: str
    settings: SendSettings = field(default_factory=SendSettings)
    observer: DeliveryObserver = field(default_factory=NoDeliveryObserver)


class _Timer:
    """Seconds spent in each step of one batch run."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._at = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[f"{name}_s"] = round(now - self._at, 4)
        self._at = now

    def __str__(self) -> str:
        return " ".join(f"{name}={value}" for name, value in self.laps.items())


def backoff_seconds(retry_count: int, base: float) -> float:
    """Doubling from `base` for each earlier retry, at most 15 minutes."""
    return float(min(MAX_BACKOFF_SECONDS, base * 2 ** max(0, retry_count)))


class BatchSender:
    """Runs batches for the campaigns of one process (the compiled cache is its state)."""

    def __init__(self, ports: DeliveryPorts) -> None:
        self.ports = ports
        self._cache = CompiledCache()

    async def prepared(self, campaign: Campaign) -> Prepared | None:
        version = campaign.template_version
        if version is None:
            return None
        key = (campaign.id, version)
        found = self._cache.get(key)
        if found is None:
            content = await template_content(
                campaign.user_id, campaign.settings.template_id, version, self.ports
            )
            if content is None:
                return None
            found = await compile_campaign(campaign, content[1], version, self.ports)
            self._cache.put(key, found)
        return found

    async def run(self, user_id: int, campaign_id: int, lane: Lane | None = None) -> None:
        """One batch of the campaign, then the next run of this lane (see the module). A run
        without a lane (a message enqueued before lanes carried one) sends as before. A chain
        that ends gives its lane's place up, so a resume soon after a pause starts at once."""
        if not await self._run(user_id, campaign_id, lane) and lane is not None:
            await self.ports.queue.release_lane(campaign_id, lane)

    async def _run(self, user_id: int, campaign_id: int, lane: Lane | None) -> bool:
        """True when the lane's next run is enqueued."""
        p = self.ports
        campaign = await p.campaigns.get(user_id, campaign_id)
        if campaign is None or campaign.status is not CampaignStatus.SENDING:
            return False  # paused, cancelled, finished or deleted: the lane stops
        if lane is None:
            await p.queue.touch(campaign_id, p.settings.lease_seconds)
        elif not await p.queue.hold_lane(campaign_id, lane, p.settings.lease_seconds):
            return False  # this lane's place is another chain's: woken twice, one goes on
        prepared = await self.prepared(campaign)
        if prepared is None:
            return False  # not materialised yet: the start (or the reconciler) wakes the lanes
        chain = await self._chain(campaign)
        if chain is None:
            return await self._pause(user_id, campaign_id, "campaign_paused_domain_unverified")
        granted = await self._throttle(campaign)
        if granted == 0:
            p.queue.batch(user_id, campaign_id, lane=lane)
            return True
        timer = _Timer()
        claim = await p.store.claim(
            user_id, campaign_id, limit=granted, lease_seconds=p.settings.lease_seconds
        )
        timer.lap("claim")
        if claim.quota_exhausted:
            return await self._pause(user_id, campaign_id, "campaign_paused_monthly_limit")
        if not claim.recipients:
            return await self._idle(user_id, campaign_id, lane, skipped=claim.skipped)
        assert claim.lease is not None
        p.observer.claimed(len(claim.recipients))
        # The lane's next run claims the next batch while this one renders and sends.
        p.queue.batch(user_id, campaign_id, lane=lane)
        results = await self._send(campaign, prepared, chain, claim.recipients, timer)
        await p.store.record_results(
            user_id, campaign_id, lease=claim.lease, subject=prepared.subject, results=results
        )
        timer.lap("record")
        # One line per batch: where a campaign's time goes (benchmarks/campaign.py sums them).
        log.info(
            "campaign_batch campaign=%d claimed=%d %s",
            campaign_id,
            len(claim.recipients),
            timer,
            extra={"campaign_id": campaign_id, **timer.laps},
        )
        return True

    async def _pause(self, user_id: int, campaign_id: int, why: str) -> bool:
        """SENDING -> PAUSED for the reason `why` names (logged); the lane ends (False)."""
        log.warning(why, extra={"campaign_id": campaign_id})
        await self.ports.campaigns.move(
            user_id,
            campaign_id,
            sources=frozenset({CampaignStatus.SENDING}),
            target=CampaignStatus.PAUSED,
        )
        return False

    async def _throttle(self, campaign: Campaign) -> int:
        p = self.ports
        waited = 0.0
        while True:
            granted, wait = await p.throttle.take(
                campaign.id, campaign.settings.send_speed, p.settings.batch_size
            )
            if granted or waited >= MAX_THROTTLE_WAIT_SECONDS:
                return granted
            pause = min(max(wait, 0.01), MAX_THROTTLE_WAIT_SECONDS - waited)
            await asyncio.sleep(pause)
            waited += pause

    async def _idle(
        self, user_id: int, campaign_id: int, lane: Lane | None, *, skipped: int
    ) -> bool:
        """Nothing claimable. With rows skipped this time there may be more to claim; with rows
        waiting for their backoff, or in flight in other runs (which may put some back to
        retry), the lane looks again later; with none left the campaign completes and the lane
        ends. So a lane never ends while its campaign has work, and the lanes stay as many as
        were woken (at most `lanes`)."""
        p = self.ports
        if skipped:
            p.queue.batch(user_id, campaign_id, lane=lane)
            return True
        next_at = await p.store.next_attempt(campaign_id)
        if next_at is None:
            if await p.store.complete_if_done(campaign_id):
                log.info("campaign_sent", extra={"campaign_id": campaign_id})
            return False
        wait = (next_at - p.clock.now()).total_seconds()
        delay = min(max(wait, MIN_IDLE_SECONDS), MAX_IDLE_SECONDS)
        # The lane sleeps in the queue: the reconciler must not take it for lost meanwhile.
        if lane is None:
            await p.queue.touch(campaign_id, delay + p.settings.lease_seconds)
        else:
            await p.queue.hold_lane(campaign_id, lane, delay + p.settings.lease_seconds)
        p.queue.batch(user_id, campaign_id, lane=lane, delay_seconds=delay)
        return True

    async def _send(
        self,
        campaign: Campaign,
        prepared: Prepared,
        chain: list[Provider],
        claimed: Sequence[ClaimedRecipient],
        timer: _Timer,
    ) -> list[RecipientResult]:
        p = self.ports
        types = [t for pr in chain if (t := p.provider_types.get(pr.provider_type)) is not None]
        recipients = [recipient_data(r, prepared.tracking_key) for r in claimed]
        assert campaign.settings.from_email is not None
        timer.lap("prepare")
        # On a thread: sender_rs releases the GIL for the whole batch, and the process's one
        # event loop keeps the other lanes' SMTP conversations going meanwhile.
        rendered = await asyncio.to_thread(
            render_outgoing,
            forms_needed(types),
            p.renderer,
            prepared.compiled,
            recipients,
            sender=campaign.settings.from_email,
            timestamp=int(p.clock.now().timestamp()),
            campaign_id=campaign.id,
        )
        timer.lap("render")
        messages = [m for m in rendered if isinstance(m, OutgoingMessage)]
        deliveries = iter(await self._deliver(campaign, chain, messages))
        timer.lap("deliver")
        now = p.clock.now()
        # Which type answered, for the observer: with no provider the batch went to the outbox.
        type_of = {pr.id: pr.provider_type for pr in chain}
        delivered_by = None if chain else OUTBOX_TYPE
        observed: list[tuple[RecipientResult, str | None]] = []
        for row, outcome in zip(claimed, rendered, strict=True):
            if isinstance(outcome, RenderError):
                failed = RecipientResult(
                    row.id,
                    row.email,
                    RecipientState.FAILED,
                    Failure.RENDER,
                    outcome.error[:MAX_ERROR_CHARS],
                )
                observed.append((failed, None))
                continue
            delivery = next(deliveries)
            answered = type_of.get(delivery.provider_id) if delivery.provider_id else delivered_by
            observed.append((self._result(campaign, row, outcome, delivery, now), answered))
        p.observer.delivered(observed)
        return [result for result, _ in observed]

    async def _chain(self, campaign: Campaign) -> list[Provider] | None:
        """The providers the next batch goes through, with the sending domain as it is now
        (its verification can lapse during a send: a re-check that finds its records gone).
        None when a real provider comes first and the domain is no longer VERIFIED: the
        campaign must wait for it, since the mail would otherwise land in the outbox, counted
        as sent."""
        if campaign.outbox_only:
            return []
        chain = await self.ports.chain.providers_of(
            campaign.user_id, first=campaign.settings.provider_id
        )
        domain = await sending_domain(campaign, self.ports)
        if sender_domain_ready(domain, outbox_only=False):
            return chain
        if not reaches_only_outbox(chain[0] if chain else None, test_mode=False):
            return None
        # Only the outbox may carry mail from an unverified domain (preflight's rule).
        return [pr for pr in chain if pr.provider_type == OUTBOX_TYPE]

    async def _deliver(
        self, campaign: Campaign, chain: list[Provider], messages: list[OutgoingMessage]
    ) -> list[Delivery]:
        p = self.ports
        return await deliver_batch(
            campaign.user_id,
            chain,
            messages,
            chain=p.chain,
            provider_types=p.provider_types,
            outbox=p.outbox,
            clock=p.clock,
        )

    def _result(
        self,
        campaign: Campaign,
        row: ClaimedRecipient,
        message: OutgoingMessage,
        delivery: Delivery,
        now: datetime,
    ) -> RecipientResult:
        outcome = delivery.outcome
        base = RecipientResult(
            row.id,
            row.email,
            RecipientState.FAILED,
            provider_id=delivery.provider_id,
            message_id=message.message_id,
        )
        detail = (outcome.detail or outcome.kind.value)[:MAX_ERROR_CHARS]
        if outcome.kind is OutcomeKind.ACCEPTED:
            return replace(
                base, state=RecipientState.SENT, provider_message_id=outcome.provider_message_id
            )
        if outcome.kind is OutcomeKind.PERMANENT:
            return replace(base, failure=Failure.PERMANENT, error=detail)
        if outcome.ambiguous:
            return replace(base, failure=Failure.AMBIGUOUS, error=detail)
        s = campaign.settings
        if not s.retry_failed or row.retry_count >= s.max_retries:
            return replace(base, failure=Failure.TRANSIENT, error=detail)
        wait = backoff_seconds(row.retry_count, self.ports.settings.retry_backoff_seconds)
        return replace(
            base,
            state=RecipientState.PENDING,
            error=detail,
            next_attempt_at=now + timedelta(seconds=wait),
        )


__all__ = ["BatchSender", "DeliveryPorts", "SendSettings"]
