"""`EventsService`: provider webhooks received (verified, checked, stored once, a worker woken)
and stored events processed (the effects policy applied once, failures retried a bounded
number of times)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from openmailer.core.errors import DomainError, Forbidden, NotFound, RateLimited
from openmailer.core.events.batch import EffectsBatch
from openmailer.core.events.formats import (
    malformed,
    recipient_events,
    sendgrid_stored_events,
    ses_stored_events,
)
from openmailer.core.events.model import (
    SENDGRID_SOURCE,
    SES_SOURCE,
    MessageKey,
    Receipt,
    RecipientEvent,
    WebhookSource,
)
from openmailer.core.events.policy import LOG_ONLY_KINDS
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
# A batch's transaction holds its events' logs locked: short enough not to keep a send or
# another worker waiting long, long enough that its fixed costs are shared.
EVENTS_PER_TRANSACTION = 100
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
        """Apply one stored event's effects once; False if it was processed already, another
        worker holds it, or it failed (recorded, and retried later up to MAX_ATTEMPTS)."""
        return await self._process_alone(event_id) == 1

    async def process_many(self, event_ids: Sequence[int]) -> int:
        """Apply the events' effects once each, in one transaction (the events processed; the
        others were processed already, are held by another worker, or failed). An event that
        cannot be decided fails alone; if the batch's transaction fails, each event is
        processed alone, so a bad one still fails by itself and loses no other."""
        done = 0
        for start in range(0, len(event_ids), EVENTS_PER_TRANSACTION):
            done += await self._process_chunk(event_ids[start : start + EVENTS_PER_TRANSACTION])
        return done

    async def _process_chunk(self, event_ids: Sequence[int]) -> int:
        if len(event_ids) == 1:
            return await self._process_alone(event_ids[0])
        try:
            return await self._process_batch(event_ids)
        except Exception:
            log.warning(
                "webhook_event_batch_failed", extra={"events": len(event_ids)}, exc_info=True
            )
            return sum([await self._process_alone(event_id) for event_id in event_ids])

    async def _process_alone(self, event_id: int) -> int:
        try:
            return await self._process_batch([event_id])
        except Exception as error:
            await self.ports.events.record_failure(event_id, _failure(error))
            log.warning("webhook_event_failed", extra={"event_id": event_id}, exc_info=True)
            return 0

    async def _process_batch(self, event_ids: Sequence[int]) -> int:
        async with self.ports.units() as unit:
            claimed = await unit.claim(event_ids)
            if not claimed:
                return 0
            readable: dict[int, tuple[int, list[RecipientEvent]]] = {}
            errors: dict[int, str] = {}
            for event in claimed:
                try:
                    readable[event.id] = (event.user_id, recipient_events(event.payload))
                except Exception as error:
                    errors[event.id] = _failed(event.id, error)
            keys = {
                MessageKey.of(user_id, named.message_id, named.recipient)
                for user_id, events in readable.values()
                for named in events
            }
            audience = any(
                named.kind not in LOG_ONLY_KINDS
                for _, events in readable.values()
                for named in events
            )
            states = await unit.message_states(keys, audience=audience) if keys else {}
            batch = EffectsBatch(states)
            notes: dict[int, str | None] = {}
            for event_id, (user_id, events) in readable.items():
                try:
                    note = batch.decide_event(user_id, events)
                except Exception as error:
                    errors[event_id] = _failed(event_id, error)
                else:
                    notes[event_id] = None if note is None else note[:MAX_ERROR_CHARS]
            await unit.write(batch.writes)
            if notes:
                await unit.finish(notes)
            if errors:
                await unit.fail(errors)
        return len(notes)

    async def retry_pending(self) -> int:
        """Events a lost message, a crash or a failure left unprocessed."""
        ids = await self.ports.events.pending(
            limit=RETRY_BATCH,
            max_attempts=MAX_ATTEMPTS,
            older_than=self.ports.clock.now() - RETRY_AFTER,
        )
        return await self.process_many(ids)


def _failure(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:MAX_ERROR_CHARS]


def _failed(event_id: int, error: Exception) -> str:
    log.warning("webhook_event_failed", extra={"event_id": event_id}, exc_info=error)
    return _failure(error)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise malformed("the body is not JSON") from None
