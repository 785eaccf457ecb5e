"""The messages area bound to its ports once: what controllers call."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from openmailer.core.accounts.model import Principal
from openmailer.core.errors import Conflict, DomainError, NotFound, ValidationError
from openmailer.core.messages.model import (
    IDEMPOTENCY_TTL_SECONDS,
    EmailLogEntry,
    EmailLogFilter,
    EmailType,
    MessageDraft,
    check_idempotency_key,
)
from openmailer.core.messages.services.send import SendPorts, send_messages
from openmailer.core.pages import KeysetPage
from openmailer.core.ports.messages import IdempotencyStore

PURGE_BATCH_SIZE = 1000
# A run stops after this many batches; the next period's run takes the rest.
PURGE_MAX_BATCHES = 100


@dataclass(frozen=True)
class MessagesPorts:
    send: SendPorts
    idempotency: IdempotencyStore


@dataclass(frozen=True, slots=True)
class SendAnswer:
    """The request's messages, one per recipient in the request's order."""

    messages: tuple[EmailLogEntry, ...]
    replayed: bool

    @property
    def message(self) -> EmailLogEntry:
        return self.messages[0]


class MessagesService:
    def __init__(self, ports: MessagesPorts) -> None:
        self.ports = ports

    async def send(
        self, principal: Principal, draft: MessageDraft, *, idempotency_key: str | None
    ) -> SendAnswer:
        """With a key, a retry of the same request answers the first request's message and
        sends nothing; the key is kept for IDEMPOTENCY_TTL_SECONDS."""
        send = self.ports.send
        if idempotency_key is None:
            log_ids = await send_messages(principal, draft, ports=send)
            return SendAnswer(await self._logs(principal, log_ids), replayed=False)
        check_idempotency_key(idempotency_key)
        user_id = principal.user.id
        now = send.clock.now()
        request_hash = draft.fingerprint()
        held = await self.ports.idempotency.claim(
            user_id,
            idempotency_key,
            request_hash,
            now=now,
            expires_at=now + timedelta(seconds=IDEMPOTENCY_TTL_SECONDS),
        )
        if held is not None:
            if held.request_hash != request_hash:
                # 422, as the IETF Idempotency-Key draft says; 409 while the first runs.
                raise ValidationError(
                    "this Idempotency-Key was used with another request body",
                    field="Idempotency-Key",
                    code="idempotency_key_reused",
                )
            if held.log_ids is None:
                raise Conflict(
                    "the first request with this Idempotency-Key is still being answered",
                    code="idempotency_request_in_progress",
                )
            return SendAnswer(await self._logs(principal, held.log_ids), replayed=True)
        try:
            log_ids = await send_messages(principal, draft, ports=send)
        except DomainError:
            # Refused before anything was sent (422, 429): a retry must be tried afresh. Any
            # other failure keeps the claim (409 until it expires): the mail may have left, and
            # a second one is worse than a retry refused.
            await self.ports.idempotency.release(user_id, idempotency_key)
            raise
        await self.ports.idempotency.complete(user_id, idempotency_key, log_ids)
        return SendAnswer(await self._logs(principal, log_ids), replayed=False)

    async def purge_expired_idempotency_keys(
        self, *, batch_size: int = PURGE_BATCH_SIZE, max_batches: int = PURGE_MAX_BATCHES
    ) -> int:
        """Deletes expired keys in bounded batches (each a short transaction, so sends that
        claim keys meanwhile never wait long); how many were deleted."""
        now = self.ports.send.clock.now()
        deleted = 0
        for _ in range(max_batches):
            count = await self.ports.idempotency.purge_expired(now=now, batch_size=batch_size)
            deleted += count
            if count < batch_size:
                break
        return deleted

    async def _logs(
        self, principal: Principal, log_ids: Sequence[int]
    ) -> tuple[EmailLogEntry, ...]:
        """The request's messages still on record (the retention job deletes old logs)."""
        found = [await self.ports.send.logs.get(principal.user.id, i) for i in log_ids]
        entries = tuple(entry for entry in found if entry is not None)
        if not entries:
            raise NotFound(f"no message {log_ids[0]}", code="message_not_found")
        return entries

    async def get_message(self, principal: Principal, message_id: int) -> EmailLogEntry:
        entry = await self.ports.send.logs.get(principal.user.id, message_id)
        if entry is None or entry.email_type != EmailType.TRANSACTIONAL.value:
            raise NotFound(f"no message {message_id}", code="message_not_found")
        return entry

    async def list_email_logs(
        self, principal: Principal, filters: EmailLogFilter, *, limit: int, after: str | None
    ) -> KeysetPage[EmailLogEntry]:
        return await self.ports.send.logs.list_for_user(
            principal.user.id, filters, limit=limit, after=after
        )
