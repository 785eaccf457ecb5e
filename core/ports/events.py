"""Ports of provider events: the webhook sources, the signature checks, the stored events, the
queue that wakes a worker, and the transaction that applies a batch of events' effects."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from openmailer.core.events.model import (
    MessageKey,
    MessageState,
    RowWrites,
    StoredEvent,
    WebhookSource,
)
from openmailer.core.ports.unit_of_work import UnitOfWork


class WebhookSources(Protocol):
    async def find(self, token: str) -> WebhookSource | None:
        """The provider whose webhook token this is, with its opened settings."""
        ...


class SnsMessages(Protocol):
    async def verify(self, body: bytes) -> dict[str, Any]:
        """The SNS envelope in `body` once its signature (v1 or v2, over the canonical string,
        with a certificate from an SNS address only) holds; Forbidden or ValidationError
        otherwise. Freshness and topics are the caller's to check."""
        ...

    async def confirm(self, envelope: Mapping[str, Any]) -> None:
        """Confirm a verified SubscriptionConfirmation (GET its SubscribeURL, which must be an
        SNS address)."""
        ...


class SendgridSignatures(Protocol):
    def verify(self, body: bytes, *, timestamp: str, signature: str, public_key: str) -> None:
        """ECDSA P-256 / SHA-256 over `timestamp + body` with the base64 SPKI `public_key`;
        Forbidden when it does not hold."""
        ...


@dataclass(frozen=True, slots=True)
class ClaimedEvent:
    id: int
    user_id: int
    provider_id: int | None
    payload: dict[str, Any]


class WebhookEventStore(Protocol):
    async def add(self, source: WebhookSource, events: Sequence[StoredEvent]) -> list[int]:
        """Store the events not stored before (by provider and provider event id); the new
        rows' ids."""
        ...

    async def pending(self, *, limit: int, max_attempts: int, older_than: datetime) -> list[int]:
        """Unprocessed events created before `older_than` that failed fewer than
        `max_attempts` times, oldest first."""
        ...

    async def record_failure(self, event_id: int, error: str) -> None:
        """One more failed attempt, with what failed."""
        ...


class EventQueue(Protocol):
    def enqueue(self, event_ids: Sequence[int]) -> None:
        """Wake a worker to process these events (losing the message loses nothing: the
        periodic retry finds them)."""
        ...


class EventUnitOfWork(UnitOfWork, Protocol):
    """A batch of events' processing, in one transaction: claimed, applied and marked together
    (a batch of one is one event's)."""

    async def claim(self, event_ids: Sequence[int]) -> list[ClaimedEvent]:
        """Those of the events that are unprocessed and not held by another worker, locked,
        in id order."""
        ...

    async def message_states(
        self, keys: Collection[MessageKey], *, audience: bool
    ) -> dict[MessageKey, MessageState]:
        """For each key that names an email log (the latest, if several do), its state: the
        log locked, with its campaign recipient, and (`audience`) its contact and campaign,
        else none (LOG_ONLY_KINDS need neither)."""
        ...

    async def write(self, writes: RowWrites) -> None:
        """The rows' new values, set-based; the lists of contacts whose status changed
        recounted."""
        ...

    async def finish(self, notes: Mapping[int, str | None]) -> None:
        """Mark these events processed, each with its note (why it changed nothing, if so)."""
        ...

    async def fail(self, errors: Mapping[int, str]) -> None:
        """One more failed attempt for each of these events, with what failed; they stay
        unprocessed."""
        ...


class EventUnitsOfWork(Protocol):
    def __call__(self) -> EventUnitOfWork: ...
