"""The outbox: reading what was kept instead of delivered (exactly as it would have left), and
delivering a batch through the user's providers or, with none, into it."""

from __future__ import annotations

from collections.abc import Sequence

from openmailer.core.accounts.model import Principal
from openmailer.core.errors import NotFound
from openmailer.core.pages import KeysetPage
from openmailer.core.ports.accounts import Clock
from openmailer.core.ports.sending import OutboxStore, ProviderClient, ProviderContext
from openmailer.core.registry import Registry
from openmailer.core.sending.chain import Delivery, ProviderChain
from openmailer.core.sending.contract import OutgoingMessage, ProviderType
from openmailer.core.sending.model import OutboxMessage, Provider
from openmailer.core.sending.policies import OUTBOX_TYPE


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


def open_outbox_client(
    user_id: int, *, provider_types: Registry[ProviderType], outbox: OutboxStore, clock: Clock
) -> ProviderClient:
    """A client of the built-in outbox unattached to any provider row: where mail goes when
    the user has no provider, or the send may reach only the outbox (an `om_test_` key)."""
    outbox_type = provider_types[OUTBOX_TYPE]
    context = ProviderContext(user_id=user_id, provider_id=None, outbox=outbox, clock=clock)
    return outbox_type.open_client(outbox_type.configuration(), context)


async def deliver_batch(
    user_id: int,
    providers: Sequence[Provider],
    messages: Sequence[OutgoingMessage],
    *,
    chain: ProviderChain,
    provider_types: Registry[ProviderType],
    outbox: OutboxStore,
    clock: Clock,
) -> list[Delivery]:
    """One Delivery per (single-recipient) message, in order: through `providers` in failover
    order, or, when there are none, into the outbox."""
    if not messages:
        return []
    if providers:
        return [deliveries[0] for deliveries in await chain.send(providers, messages)]
    client = open_outbox_client(user_id, provider_types=provider_types, outbox=outbox, clock=clock)
    try:
        return [Delivery(outcome, None) for outcome in await client.send_batch(messages)]
    finally:
        await client.aclose()
