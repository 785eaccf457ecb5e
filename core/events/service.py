"""`EventsService`: provider webhooks received (verified, checked, stored once, a worker woken)
and stored events processed (the effects policy applied once, failures retried a bounded
number of times)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from openmailer.core.errors import DomainError, Forbidden, NotFound, RateLimited
from openmailer.core.events.formats import (
    malformed,
    recipient_events,
    sendgrid_stored_events,
    ses_stored_events,
)
from openmailer.core.events.model import SENDGRID_SOURCE, SES_SOURCE, Receipt, WebhookSource
from openmailer.core.events.policy import decide
from openmailer.core.ports.accounts import Clock, RateLimiter
from openmailer.core.ports.events import (
    EventQueue,
    EventUnitsOfWork,
    SendgridSignatures,
    SnsMessages,
    WebhookEventStore,
    WebhookSources,
)

log = logging.getLogger(__name__)
# SNS retries for up to an hour, so an older message is a replay; SendGrid signs each attempt
# anew. A clock a few minutes ahead is tolerated.
MAX_MESSAGE_AGE = timedelta(hours=1)
MAX_CLOCK_SKEW = timedelta(minutes=5)
MAX_ATTEMPTS = 5
# The periodic retry leaves fresh events to the worker their request woke.
RETRY_AFTER = timedelta(seconds=60)
RETRY_BATCH = 500
MAX_ERROR_CHARS = 2000
UNKNOWN_TOKEN = NotFound("no such webhook", code="webhook_not_found")
# A client whose requests were refused this often in a minute (unknown tokens, bad signatures,
# malformed bodies) is refused before anything is looked up; accepted requests never count, so
# a provider's busy minutes are not throttled.
REFUSALS_PER_MINUTE = 60
REFUSAL_WINDOW_SECONDS = 60
SNS_NOTIFICATION = "Notification"
SNS_SUBSCRIPTION = "SubscriptionConfirmation"
SNS_UNSUBSCRIBE = "UnsubscribeConfirmation"


@dataclass(frozen=True, slots=True)
class EventsPorts:
    sources: WebhookSources
    sns: SnsMessages
    sendgrid: SendgridSignatures
    events: WebhookEventStore
    queue: EventQueue
    units: EventUnitsOfWork
    clock: Clock
    # Counts refused requests per client (None: a process that receives no webhooks).
    refusals: RateLimiter | None = None


def stale(at: datetime, now: datetime) -> bool:
    return at < now - MAX_MESSAGE_AGE or at > now + MAX_CLOCK_SKEW


def stale_message() -> Forbidden:
    return Forbidden(
        f"the message is older than {int(MAX_MESSAGE_AGE.total_seconds())} s, or from the future",
        code="stale_message",
    )


class EventsService:
    def __init__(self, ports: EventsPorts) -> None:
        self.ports = ports

    # --- receiving ---------------------------------------------------------------------------

    async def receive(
        self, token: str, body: bytes, headers: Mapping[str, str], *, client_ip: str
    ) -> Receipt:
        """A webhook request to `token`'s provider, verified over `body` before anything in
        it is used; `headers` lower-case."""
        limiter = self.ports.refusals
        bucket = f"webhook-refusals:{client_ip}"
        if limiter is not None:
            decision = await limiter.peek(
                bucket, limit=REFUSALS_PER_MINUTE, window_seconds=REFUSAL_WINDOW_SECONDS
            )
            if not decision.allowed:
                raise RateLimited(
                    f"more than {REFUSALS_PER_MINUTE} refused webhook requests a minute; "
                    f"retry in {decision.reset_seconds}s",
                    retry_after_seconds=decision.reset_seconds,
                )
        try:
            return await self._receive(token, body, headers)
        except DomainError:
            if limiter is not None:
                await limiter.hit(
                    bucket, limit=REFUSALS_PER_MINUTE, window_seconds=REFUSAL_WINDOW_SECONDS
                )
            raise

    async def _receive(self, token: str, body: bytes, headers: Mapping[str, str]) -> Receipt:
        source = await self.ports.sources.find(token)
        if source is None:
            raise UNKNOWN_TOKEN
        if source.provider_type == SES_SOURCE:
            return await self._receive_sns(source, body)
        if source.provider_type == SENDGRID_SOURCE:
            return await self._receive_sendgrid(source, body, headers)
        raise UNKNOWN_TOKEN  # a provider type that reports no events: the same 404

    async def _receive_sns(self, source: WebhookSource, body: bytes) -> Receipt:
        envelope = await self.ports.sns.verify(body)
        sent_at = envelope.get("Timestamp")
        try:
            at = datetime.fromisoformat(sent_at) if isinstance(sent_at, str) else None
        except ValueError:
            at = None
        if at is None or at.tzinfo is None:
            raise malformed("the SNS Timestamp is missing or not an ISO 8601 UTC time")
        if stale(at, self.ports.clock.now()):
            raise stale_message()
        topics = source.settings.get("sns_topic_arns") or []
        if topics and envelope.get("TopicArn") not in topics:
            raise Forbidden(
                "the topic is not one this provider accepts (sns_topic_arns)",
                code="topic_not_allowed",
            )
        kind = envelope.get("Type")
        if kind == SNS_SUBSCRIPTION:
            await self.ports.sns.confirm(envelope)
            return Receipt(stored=0, duplicates=0, ignored=0, confirmed_subscription=True)
        if kind != SNS_NOTIFICATION:
            return Receipt(stored=0, duplicates=0, ignored=1)
        events, ignored = ses_stored_events(envelope)
        return await self._store(source, events, ignored)

    async def _receive_sendgrid(
        self, source: WebhookSource, body: bytes, headers: Mapping[str, str]
    ) -> Receipt:
        key = source.settings.get("webhook_verification_key")
        if not isinstance(key, str) or not key:
            raise Forbidden(
                "this SendGrid provider has no webhook_verification_key: unsigned events are "
                "refused",
                code="verification_key_missing",
            )
        signature = headers.get("x-twilio-email-event-webhook-signature", "")
        timestamp = headers.get("x-twilio-email-event-webhook-timestamp", "")
        if not signature or not timestamp:
            raise Forbidden("the request is not signed", code="signature_missing")
        self.ports.sendgrid.verify(body, timestamp=timestamp, signature=signature, public_key=key)
        now = self.ports.clock.now()
        try:
            signed_at = datetime.fromtimestamp(int(timestamp), UTC) if timestamp.isdigit() else None
        except (OverflowError, OSError, ValueError):
            signed_at = None
        if signed_at is None or stale(signed_at, now):
            raise stale_message()
        events, ignored = sendgrid_stored_events(_json(body))
        return await self._store(source, events, ignored)

    async def _store(self, source: WebhookSource, events: list[Any], ignored: int) -> Receipt:
        ids = await self.ports.events.add(source, events) if events else []
        if ids:
            try:
                self.ports.queue.enqueue(ids)
            except Exception:  # stored is what counts: the periodic retry finds them
                log.warning("webhook_events_not_enqueued", exc_info=True)
        return Receipt(stored=len(ids), duplicates=len(events) - len(ids), ignored=ignored)

    # --- processing --------------------------------------------------------------------------

    async def process(self, event_id: int) -> bool:
        """Apply one stored event's effects once; False if it was processed already or another
        worker holds it. A failure is recorded (and retried later, up to MAX_ATTEMPTS)."""
        try:
            async with self.ports.units() as unit:
                claimed = await unit.claim(event_id)
                if claimed is None:
                    return False
                notes = []
                recipients = recipient_events(claimed.payload)
                for event in recipients:
                    state = await unit.message_state(
                        claimed.user_id, event.message_id, event.recipient
                    )
                    effects = decide(event, state)
                    if state is not None and not effects.empty:
                        await unit.apply(state, effects)
                    if effects.note:
                        notes.append(f"{event.recipient}: {effects.note}")
                if not recipients:
                    notes.append("the event names no recipient of a message")
                await unit.finish(event_id, note="; ".join(notes)[:MAX_ERROR_CHARS] or None)
            return True
        except Exception as error:
            detail = f"{type(error).__name__}: {error}"[:MAX_ERROR_CHARS]
            await self.ports.events.record_failure(event_id, detail)
            log.warning("webhook_event_failed", extra={"event_id": event_id}, exc_info=True)
            return False

    async def process_many(self, event_ids: list[int]) -> int:
        done = 0
        for event_id in event_ids:
            done += await self.process(event_id)
        return done

    async def retry_pending(self) -> int:
        """Events a lost message, a crash or a failure left unprocessed."""
        ids = await self.ports.events.pending(
            limit=RETRY_BATCH,
            max_attempts=MAX_ATTEMPTS,
            older_than=self.ports.clock.now() - RETRY_AFTER,
        )
        return await self.process_many(ids)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise malformed("the body is not JSON") from None
