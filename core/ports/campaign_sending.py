"""Ports of the campaign send path: the leased recipient rows, the queue that carries batches
to workers, the per-campaign send-speed bucket and the installation's tracking key."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from openmailer.core.ports.rendering import TrackedLink


class RecipientState(StrEnum):
    PENDING = "PENDING"
    SENDING = "SENDING"
    SENT = "SENT"
    FAILED = "FAILED"


class Failure(StrEnum):
    """Why a FAILED recipient failed (`campaign_recipients.failure`)."""

    TRANSIENT = "transient"  # retries exhausted (or retrying is off): `retry-failed` re-queues it
    PERMANENT = "permanent"  # the provider refused the recipient
    AMBIGUOUS = "ambiguous"  # the provider may have accepted it: never sent again
    RENDER = "render"
    SKIPPED = "skipped"  # unsubscribed, bounced or complained before its claim


@dataclass(frozen=True, slots=True)
class ClaimedRecipient:
    id: int
    tracking_id: str
    email: str
    first_name: str | None = None
    last_name: str | None = None
    custom: Mapping[str, object] = field(default_factory=dict)
    retry_count: int = 0


@dataclass(frozen=True, slots=True)
class Claim:
    """The rows a worker now holds (SENDING) until `lease`, the token it writes results with.
    `skipped`: rows of the batch whose contact was no longer subscribed (marked FAILED, skipped).
    `quota_exhausted`: the user's monthly limit had no room; nothing was claimed."""

    recipients: list[ClaimedRecipient]
    lease: datetime | None
    skipped: int = 0
    quota_exhausted: bool = False


@dataclass(frozen=True, slots=True)
class RecipientResult:
    """What a batch's send did to one row. PENDING: a transient failure to try again at
    `next_attempt_at` (its retry count goes up)."""

    recipient_id: int
    email: str
    state: RecipientState
    failure: Failure | None = None
    error: str | None = None
    next_attempt_at: datetime | None = None
    provider_id: int | None = None
    provider_message_id: str | None = None
    message_id: str | None = None


@dataclass(frozen=True, slots=True)
class CampaignRef:
    campaign_id: int
    user_id: int


class CampaignSendStore(Protocol):
    async def record_links(self, campaign_id: int, links: Sequence[TrackedLink]) -> None:
        """One `campaign_links` row per tracked link (by link index; idempotent)."""
        ...

    async def mark_outbox_only(self, user_id: int, campaign_id: int) -> None: ...

    async def claim(
        self, user_id: int, campaign_id: int, *, limit: int, lease_seconds: float
    ) -> Claim:
        """In one transaction committed before any send: up to `limit` claimable PENDING rows
        (id order, `FOR UPDATE SKIP LOCKED`, backoff passed) of a SENDING campaign become
        SENDING with a lease, or FAILED/skipped when their contact is no longer SUBSCRIBED; the
        user's monthly count takes the claimed rows (none are claimed when it has no room)."""
        ...

    async def record_results(
        self,
        user_id: int,
        campaign_id: int,
        *,
        lease: datetime,
        subject: str,
        results: Sequence[RecipientResult],
    ) -> None:
        """In one transaction: the rows (only those still under `lease`) by one set-based
        UPDATE, the final outcomes appended to `email_logs` by one INSERT, the campaign's
        counters moved, and the monthly count given back for the rows to retry."""
        ...

    async def next_attempt(self, campaign_id: int) -> datetime | None:
        """When the earliest PENDING row becomes claimable (now or later); with none PENDING
        but some SENDING (in flight elsewhere), a moment from now; None: nothing left."""
        ...

    async def complete_if_done(self, campaign_id: int) -> bool:
        """SENDING -> SENT (conditional) once materialised and no row is PENDING or SENDING."""
        ...

    async def reclaim_expired(self) -> list[CampaignRef]:
        """SENDING rows whose lease expired go back to PENDING, marked possible duplicates;
        the campaigns they belong to."""
        ...

    async def campaigns_sending(self) -> list[CampaignRef]: ...

    async def due_scheduled(self, now: datetime) -> list[CampaignRef]:
        """SCHEDULED campaigns whose time has come."""
        ...

    async def retry_failed(self, user_id: int, campaign_id: int) -> int:
        """FAILED rows whose failure was transient back to PENDING (retry count reset); their
        count taken off `failed_count`. How many."""
        ...


@dataclass(frozen=True, slots=True)
class Lane:
    """One of a campaign's chains of batch runs: its place (0 to lanes - 1) and the token of the
    wake-up that began it, carried from each run to the next. A second chain woken for the same
    place (a resume while the first still runs) finds the place held and ends, so a campaign
    never has more chains than lanes however often it is woken."""

    index: int
    token: str


class CampaignQueue(Protocol):
    """Wake-ups for the workers (the rows in PostgreSQL are the truth: a lost message delays a
    campaign until the reconciler notices, never skips anyone)."""

    def start(self, user_id: int, campaign_id: int) -> None: ...

    def batch(
        self, user_id: int, campaign_id: int, *, lane: Lane | None, delay_seconds: float = 0.0
    ) -> None: ...

    async def hold_lane(self, campaign_id: int, lane: Lane, seconds: float) -> bool:
        """Notes the campaign as worked on for `seconds`, as `touch` does, and holds the lane's
        place for its token as long (renewed by each of its runs); False when another chain's
        token holds it. One call, so a lane's run pays one round trip for both."""
        ...

    async def release_lane(self, campaign_id: int, lane: Lane) -> None:
        """Gives the lane's place up if this token still holds it (its chain has ended)."""
        ...

    async def touch(self, campaign_id: int, seconds: float) -> None:
        """Notes that a worker is working on the campaign for the next `seconds`."""
        ...

    async def is_active(self, campaign_id: int) -> bool: ...


class SendThrottle(Protocol):
    async def take(self, campaign_id: int, per_second: int, want: int) -> tuple[int, float]:
        """Up to `want` sends from the campaign's bucket shared by every worker (`per_second`
        refill, one second of burst); (granted, seconds until one more is free)."""
        ...


class TrackingKeySource(Protocol):
    async def get(self) -> bytes: ...


class DeliveryObserver(Protocol):
    """Told what each batch run did, as it happens (the metrics adapter counts it). Called on
    the send path itself: it must be quick and must not raise."""

    def claimed(self, count: int) -> None: ...

    def delivered(self, results: Sequence[tuple[RecipientResult, str | None]]) -> None:
        """Each row's result with the type of the provider that answered last (`OUTBOX` for
        the outbox; None when no provider was tried: a render failure, every provider
        skipped)."""
        ...


class NoDeliveryObserver:
    def claimed(self, count: int) -> None:
        return None

    def delivered(self, results: Sequence[tuple[RecipientResult, str | None]]) -> None:
        return None


__all__ = [
    "CampaignQueue",
    "CampaignRef",
    "CampaignSendStore",
    "Claim",
    "ClaimedRecipient",
    "DeliveryObserver",
    "Failure",
    "Lane",
    "NoDeliveryObserver",
    "RecipientResult",
    "RecipientState",
    "SendThrottle",
    "TrackingKeySource",
]
