"""Sending one transactional message, inline: route, check, count, render and sign, deliver,
record.

Delivery happens within the request, bounded by `DELIVERY_TIMEOUT_SECONDS`: one message is one
render (microseconds in sender_rs) and one pass through the provider chain (which fails over
to the next provider on a transient failure; core/sending/chain.py), and the caller wants its
provider message id in the answer. A transient outcome is retried in place with a short backoff,
at most `MAX_ATTEMPTS` times, then the message is FAILED; a permanent one is FAILED at once.
"""

from __future__ import annotations

import asyncio
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
from openmailer.core.ports.messages import EmailLogStore, SendQuota
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
    ProviderClient,
    ProviderConfigurations,
    ProviderContext,
    ProviderRepository,
)
from openmailer.core.ports.templates import TemplateRepository
from openmailer.core.registry import Registry
from openmailer.core.sending.chain import Delivery, ProviderChain
from openmailer.core.sending.contract import OutgoingMessage, ProviderType
from openmailer.core.sending.outcomes import OutcomeKind, RecipientOutcome
from openmailer.core.sending.policies import OUTBOX_TYPE, reaches_only_outbox, sender_domain_ready
from openmailer.core.sending.services.forms import FormsNeeded, forms_needed, render_outgoing
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


async def _deliver(attempt: Callable[[], Awaitable[Delivery]]) -> Delivery:
    """`attempt` sends once (through the whole chain); a transient outcome is tried again."""
    delivery = await attempt()
    for retry in range(1, MAX_ATTEMPTS):
        # An ambiguous failure may have been delivered: a retry could send it twice.
        if not delivery.outcome.retryable or delivery.outcome.ambiguous:
            break
        await asyncio.sleep(FIRST_BACKOFF_SECONDS * 2 ** (retry - 1))
        delivery = await attempt()
    return delivery


async def send_message(principal: Principal, draft: MessageDraft, *, ports: SendPorts) -> int:
    """The email_logs id of the message, whatever became of it (SENT or FAILED)."""
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
    message = _render(compiled, draft, forms_needed(types), ports=ports)
    if not await ports.quota.take(user_id, 1):
        raise RateLimited(
            "the monthly email limit is used up",
            retry_after_seconds=_seconds_to_next_month(ports.clock.now()),
            code="monthly_limit_exceeded",
        )
    subject = message.subject or draft.subject or ""
    log = await ports.logs.add(
        NewEmailLog(
            user_id=user_id,
            email_type=EmailType.TRANSACTIONAL.value,
            recipient_email=draft.to,
            subject=subject[:MAX_SUBJECT_CHARS],
            status=EmailStatus.QUEUED.value,
            provider_id=None,  # the provider that answers, recorded with the outcome
        )
    )

    async def attempt() -> Delivery:
        if chain:
            ((delivery,),) = await ports.chain.send(chain, [message])
            return delivery
        client = _outbox_client(user_id, ports=ports)
        try:
            (outcome,) = await client.send_batch([message])
        finally:
            await client.aclose()
        return Delivery(outcome, None)

    try:
        delivery = await asyncio.wait_for(_deliver(attempt), DELIVERY_TIMEOUT_SECONDS)
    except TimeoutError:
        timed_out = RecipientOutcome.transient(message.message_id, draft.to, "delivery timed out")
        delivery = Delivery(timed_out, None)
    await _record(log, delivery, ports=ports)
    return log.id


def _render(
    compiled: CompiledCampaign, draft: MessageDraft, needed: FormsNeeded, *, ports: SendPorts
) -> OutgoingMessage:
    """In every form the chain's providers take. Before anything is counted or recorded: a
    message that cannot be rendered (a variable of the wrong shape) is the caller's 422 and
    costs nothing."""
    recipient = RecipientData(
        tracking_id=secrets.token_hex(8),
        email=draft.to,
        # Required by the renderer; with no list headers it appears only where a template
        # names {{unsubscribe_url}}.
        unsubscribe_token=secrets.token_urlsafe(24),
        custom=dict(draft.variables),
    )
    (rendered,) = render_outgoing(
        needed, ports.renderer, compiled, [recipient], sender=draft.from_email
    )
    if isinstance(rendered, RenderError):
        raise ValidationError(rendered.error, field="variables", code="render_failed")
    return rendered


def _outbox_client(user_id: int, *, ports: SendPorts) -> ProviderClient:
    outbox_type = ports.provider_types[OUTBOX_TYPE]
    context = ProviderContext(
        user_id=user_id, provider_id=None, outbox=ports.outbox, clock=ports.clock
    )
    return outbox_type.open_client(outbox_type.configuration(), context)


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
