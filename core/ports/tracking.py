"""Ports of tracking: the tokens in mail, the buffer hits wait in, the recorded links, the store
that applies events, and the statistics read back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from openmailer.core.pages import KeysetPage
from openmailer.core.tracking.model import (
    BufferedHit,
    CampaignStats,
    Hit,
    RecipientActivity,
    RecipientStatus,
    TrackingHandler,
)


class TrackingTokens(Protocol):
    async def open_tracking_id(self, token: str) -> str | None:
        """The tracking id of an authentic open token (without `.gif`), else None."""
        ...

    async def click_target(self, token: str) -> tuple[str, int] | None:
        """`(tracking id, link index)` of an authentic click token, else None."""
        ...


class LinkDirectory(Protocol):
    async def url_for(self, tracking_id: str, link_index: int) -> str | None:
        """The URL recorded for that link of the recipient's campaign; None when the recipient
        or the link does not exist."""
        ...


class HitBuffer(Protocol):
    async def append(self, hit: Hit) -> None:
        """Durably queued once this returns (the response may then be sent)."""
        ...


class HitStream(Protocol):
    """The consuming side of the buffer: entries stay pending until acknowledged."""

    async def claim_stale(self, count: int) -> list[BufferedHit]:
        """Entries another consumer read and never acknowledged for too long (it died)."""
        ...

    async def read(self, count: int) -> list[BufferedHit]:
        """New entries, up to `count`; empty when none is waiting."""
        ...

    async def acknowledge(self, event_ids: Sequence[str]) -> None: ...


class EventStore(Protocol):
    async def apply(self, hits: Sequence[BufferedHit], handlers: Sequence[TrackingHandler]) -> int:
        """Resolve the hits, drop those applied before, run the handlers over the rest; all
        committed together. Returns how many events were new."""
        ...


class CampaignStatsReader(Protocol):
    async def stats(self, user_id: int, campaign_id: int) -> CampaignStats | None:
        """Only the owner's campaign: another user's is None."""
        ...

    async def recipients(
        self,
        user_id: int,
        campaign_id: int,
        *,
        status: RecipientStatus | None,
        limit: int,
        after: str | None,
    ) -> KeysetPage[RecipientActivity] | None:
        """The campaign's recipients by id, in keyset pages; None for another user's campaign."""
        ...
