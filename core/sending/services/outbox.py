"""Reading the outbox: what was kept instead of delivered, exactly as it would have left."""

from __future__ import annotations

from openmailer.core.accounts.model import Principal
from openmailer.core.errors import NotFound
from openmailer.core.pages import KeysetPage
from openmailer.core.ports.sending import OutboxStore
from openmailer.core.sending.model import OutboxMessage


async def list_outbox(
    principal: Principal, *, limit: int, cursor: str | None, outbox: OutboxStore
) -> KeysetPage[OutboxMessage]:
    return await outbox.list_for_user(principal.user.id, limit=limit, cursor=cursor)


async def get_outbox_message(
    principal: Principal, outbox_id: int, *, outbox: OutboxStore
) -> OutboxMessage:
    message = await outbox.get(principal.user.id, outbox_id)
    if message is None:
        raise NotFound(f"no outbox message {outbox_id}", code="outbox_message_not_found")
    return message
