"""Ports of the messages area: the email log, idempotency keys, the monthly send quota."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from openmailer.core.messages.model import EmailLogEntry, EmailLogFilter, NewEmailLog
from openmailer.core.pages import KeysetPage


class EmailLogStore(Protocol):
    async def add(self, entry: NewEmailLog) -> EmailLogEntry: ...

    async def get(self, user_id: int, log_id: int) -> EmailLogEntry | None: ...

    async def record_outcome(
        self,
        log_id: int,
        *,
        status: str,
        provider_message_id: str | None,
        error: str | None,
        sent_at: datetime | None,
        provider_id: int | None = None,
    ) -> None:
        """`provider_id`: the provider that answered last (the one that accepted the message),
        when one did; None leaves the column as it is."""
        ...

    async def list_for_user(
        self, user_id: int, filters: EmailLogFilter, *, limit: int, after: str | None
    ) -> KeysetPage[EmailLogEntry]:
        """Newest first."""
        ...


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """`log_ids` (the request's messages, in order) is None while the first request is still
    being answered."""

    request_hash: str
    log_ids: tuple[int, ...] | None


class IdempotencyStore(Protocol):
    async def claim(
        self, user_id: int, key: str, request_hash: str, *, now: datetime, expires_at: datetime
    ) -> IdempotencyRecord | None:
        """None when this call claimed the key (an expired claim is taken over); otherwise the
        record of the request that holds it. Atomic: of two concurrent claims one wins."""
        ...

    async def complete(self, user_id: int, key: str, log_ids: Sequence[int]) -> None: ...

    async def release(self, user_id: int, key: str) -> None:
        """Drops an unanswered claim, so that a retry after a refusal is tried afresh."""
        ...

    async def purge_expired(self, *, now: datetime, batch_size: int) -> int:
        """Deletes at most `batch_size` keys expired before `now`; how many it deleted."""
        ...


class SendQuota(Protocol):
    async def take(self, user_id: int, count: int) -> bool:
        """Counts `count` sends against the user's monthly limit in one conditional statement;
        False (nothing counted) when that would exceed it."""
        ...


class Suppressions(Protocol):
    async def of(self, user_id: int, addresses: Sequence[str]) -> dict[str, str]:
        """The user's contacts among `addresses` whose status suppresses mail (BOUNCED,
        COMPLAINED), by lower-cased address, with that status."""
        ...


__all__ = ["EmailLogStore", "IdempotencyRecord", "IdempotencyStore", "SendQuota", "Suppressions"]
