"""Sending a transactional message (to one recipient or each of a small list), inline: route,
check, count, render and sign, deliver, record.

Delivery happens within the request, bounded by `DELIVERY_TIMEOUT_SECONDS`: the request's
messages are one render batch (microseconds each in sender_rs) and one pass through the provider
chain (which fails over to the next provider on a transient failure; core/sending/chain.py),
and the caller wants the provider message ids in the answer. A transient outcome is retried in
place with a short backoff, at most `MAX_ATTEMPTS` times (only the messages it concerns), then
that message is FAILED; a permanent one is FAILED at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from openmailer.core.accounts.model import Principal
from openmailer.core.domains.keys import SigningKeyMaterial
from openmailer.core.domains.services.signing import signing_keys_for
from openmailer.core.errors import RateLimited, ValidationError
from openmailer.core.messages.model import (
    MAX_SUBJECT_CHARS,
    EmailLogEntry,
    EmailStatus,
    EmailType,
    MessageDraft,
    NewEmailLog,
    check_draft,
    domain_of,
)
from openmailer.core.ports.accounts import Clock, SecretBox
from openmailer.core.ports.domains import DomainRepository
from openmailer.core.ports.messages import EmailLogStore, SendQuota, Suppressions
from openmailer.core.ports.rendering import (
    CampaignContent,
    CompiledCampaign,
    DkimKey,
    MessageRenderer,
    RecipientData,
    RenderError,
    TemplateInvalid,
)
from openmailer.core.ports.sending import (
    OutboxStore,
    ProviderConfigurations,
    ProviderRepository,
)
from openmailer.core.ports.templates import TemplateRepository
from openmailer.core.registry import Registry
from openmailer.core.sending.chain import Delivery, ProviderChain
from openmailer.core.sending.contract import OutgoingMessage, ProviderType
from openmailer.core.sending.outcomes import OutcomeKind, RecipientOutcome
from openmailer.core.sending.policies import OUTBOX_TYPE, reaches_only_outbox, sender_domain_ready
from openmailer.core.sending.services.forms import FormsNeeded, forms_needed, render_outgoing
from openmailer.core.sending.services.outbox import deliver_batch
from openmailer.core.templates.model import TemplateSyntaxError
from openmailer.core.templates.services.templates import content_for_send

MAX_ATTEMPTS = 3
FIRST_BACKOFF_SECONDS = 0.25
DELIVERY_TIMEOUT_SECONDS = 20.0
MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class SendPorts:
    logs: EmailLogStore
    quota: SendQuota
    domains: DomainRepository
    providers: ProviderRepository
    outbox: OutboxStore
    renderer: MessageRenderer
    configurations: ProviderConfigurations
    provider_types: Registry[ProviderType]
    secret_box: SecretBox
    clock: Clock
    base_url: str
    # The failover chain over the user's providers (core/sending/chain.py); the OUTBOX type
    # counts as a provider the user chose.
    chain: ProviderChain
    templates: TemplateRepository
    suppressions: Suppressions


def _compile(
    draft: MessageDraft,
    keys: Sequence[SigningKeyMaterial],
    *,
    list_domain: str,
    preview_text: str | None,
    ports: SendPorts,
) -> CompiledCampaign:
    content = CampaignContent(
        campaign_id="transactional",
        subject=draft.subject or "",
        html=draft.html if draft.html is not None else "",
        text=draft.text,
        preview_text=preview_text,
        from_email=draft.from_email,
        from_name=draft.from_name,
        reply_to=draft.reply_to,
        list_id=list_domain,
        base_url=ports.base_url,
        tracking_secret=secrets.token_bytes(32),  # tracking is off: never checked
        track_opens=False,
        track_clicks=False,
        list_headers=False,
    )
    dkim = [DkimKey(k.domain, k.selector, k.private_pem) for k in keys]
    try:
        return ports.renderer.compile(content, dkim)
    except TemplateInvalid as error:
        raise TemplateSyntaxError.of(error) from None


def _seconds_to_next_month(now: datetime) -> int:
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    start = now.replace(year=year, month=month, day=1, hour=0, minute=0, second=0, microsecond=0)
    return max(1, int((start - now).total_seconds()))


async def _deliver(
    attempt: Callable[[Sequence[OutgoingMessage]], Awaitable[list[Delivery]]],
    messages: Sequence[OutgoingMessage],
    results: dict[str, Delivery],
) -> None:
    """`attempt` sends once (through the whole chain); the messages whose outcome is transient
    are tried again. `results` (by Message-ID) holds each message's latest outcome, so a
    timeout keeps what was already answered."""
    waiting = list(messages)
    for retry in range(MAX_ATTEMPTS):
        if retry:
            await asyncio.sleep(FIRST_BACKOFF_SECONDS * 2 ** (retry - 1))
        deliveries = await attempt(waiting)
        results.update((m.message_id, d) for m, d in zip(waiting, deliveries, strict=True))
        # An ambiguous failure may have been delivered: a retry could send it twice.
        waiting = [
            m
            for m, d in zip(waiting, deliveries, strict=True)
            if d.outcome.retryable and not d.outcome.ambiguous
        ]
        if not waiting:
            return


async def send_messages(
    principal: Principal, draft: MessageDraft, *, ports: SendPorts
) -> list[int]:
    """The email_logs ids of the messages (one per recipient, in order), whatever became of
    them (SENT or FAILED)."""
    check_draft(draft)
    user_id = principal.user.id
    preview_text = None
    if draft.template_id is not None:
        content = await content_for_send(
            principal, draft.template_id, draft.template_version, templates=ports.templates
        )
        draft = replace(draft, subject=content.subject, html=content.html, text=content.text)
        preview_text = content.preview_text
    chain = [] if principal.is_test_mode else await ports.chain.providers_of(user_id)
    # With no provider (or an om_test_ key) the mail goes to the outbox unattached to one.
    outbox_only = reaches_only_outbox(chain[0] if chain else None, test_mode=principal.is_test_mode)
    sender_domain = domain_of(draft.from_email)
    domain = await ports.domains.find_by_name(user_id, sender_domain)
    if not sender_domain_ready(domain, outbox_only=outbox_only):
        raise ValidationError(
            f"{sender_domain} is not a verified sending domain of yours",
            field="from_email",
            code="domain_not_verified",
        )
    if not sender_domain_ready(domain, outbox_only=False):
        # Accepted only because it goes to the outbox: it must not fail over to a real provider.
        chain = [p for p in chain if p.provider_type == OUTBOX_TYPE]
    keys = () if domain is None else signing_keys_for(domain, secret_box=ports.secret_box)
    compiled = _compile(
        draft, keys, list_domain=sender_domain, preview_text=preview_text, ports=ports
    )
    types = [t for p in chain if (t := ports.provider_types.get(p.provider_type)) is not None]
    messages = _render(compiled, draft, forms_needed(types), ports=ports)
    suppressed = await ports.suppressions.of(user_id, draft.recipients)
    sendable = [
        m
        for to, m in zip(draft.recipients, messages, strict=True)
        if to.strip().lower() not in suppressed
    ]
    if sendable and not await ports.quota.take(user_id, len(sendable)):
        raise RateLimited(
            "the monthly email limit is used up",
            retry_after_seconds=_seconds_to_next_month(ports.clock.now()),
            code="monthly_limit_exceeded",
        )
    logs = [
        await ports.logs.add(
            NewEmailLog(
                user_id=user_id,
                email_type=EmailType.TRANSACTIONAL.value,
                recipient_email=to,
                subject=(message.subject or draft.subject or "")[:MAX_SUBJECT_CHARS],
                status=EmailStatus.QUEUED.value,
                provider_id=None,  # the provider that answers, recorded with the outcome
            )
        )
        for to, message in zip(draft.recipients, messages, strict=True)
    ]

    async def attempt(batch: Sequence[OutgoingMessage]) -> list[Delivery]:
        return await deliver_batch(
            user_id,
            chain,
            batch,
            chain=ports.chain,
            provider_types=ports.provider_types,
            outbox=ports.outbox,
            clock=ports.clock,
        )

    results: dict[str, Delivery] = {
        m.message_id: Delivery(_suppressed(m, to, suppressed[to.strip().lower()]), None)
        for to, m in zip(draft.recipients, messages, strict=True)
        if to.strip().lower() in suppressed
    }
    # What is still unanswered at the deadline is recorded as timed out, below.
    if sendable:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_deliver(attempt, sendable, results), DELIVERY_TIMEOUT_SECONDS)
    for to, message, log in zip(draft.recipients, messages, logs, strict=True):
        timed_out = RecipientOutcome.transient(message.message_id, to, "delivery timed out")
        await _record(log, results.get(message.message_id, Delivery(timed_out, None)), ports=ports)
    return [log.id for log in logs]


def _render(
    compiled: CompiledCampaign, draft: MessageDraft, needed: FormsNeeded, *, ports: SendPorts
) -> list[OutgoingMessage]:
    """In every form the chain's providers take. Before anything is counted or recorded: a
    message that cannot be rendered (a variable of the wrong shape) is the caller's 422 and
    costs nothing."""
    recipients = [
        RecipientData(
            tracking_id=secrets.token_hex(8),
            email=to,
            # Required by the renderer; with no list headers it appears only where a template
            # names {{unsubscribe_url}}.
            unsubscribe_token=secrets.token_urlsafe(24),
            custom=dict(draft.variables),
        )
        for to in draft.recipients
    ]
    rendered = render_outgoing(
        needed,
        ports.renderer,
        compiled,
        recipients,
        sender=draft.from_email,
        timestamp=int(ports.clock.now().timestamp()),
    )
    messages: list[OutgoingMessage] = []
    for message in rendered:
        if isinstance(message, RenderError):
            raise ValidationError(message.error, field="variables", code="render_failed")
        messages.append(message)
    return messages


def _suppressed(message: OutgoingMessage, to: str, status: str) -> RecipientOutcome:
    """Not sent, and never to be retried: the address's contact is BOUNCED or COMPLAINED."""
    reason = "its mailbox bounced" if status == "BOUNCED" else "its owner complained"
    return RecipientOutcome.permanent(
        message.message_id, to, f"suppressed: not sent, the contact is {status} ({reason})"
    )


async def _record(log: EmailLogEntry, delivery: Delivery, *, ports: SendPorts) -> None:
    outcome = delivery.outcome
    sent = outcome.kind is OutcomeKind.ACCEPTED
    await ports.logs.record_outcome(
        log.id,
        status=(EmailStatus.SENT if sent else EmailStatus.FAILED).value,
        provider_message_id=outcome.provider_message_id,
        error=None if sent else (outcome.detail or outcome.kind.value)[:MAX_ERROR_CHARS],
        sent_at=ports.clock.now() if sent else None,
        provider_id=delivery.provider_id,
    )
