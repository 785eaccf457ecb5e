"""The OUTBOX provider: keeps each message, exactly as it would have left, instead of sending it.

The signed MIME bytes go to PostgreSQL (`outbox_messages`) through the `OutboxStore` port, so
`GET /api/v1/outbox` reads them back whichever machine the worker ran on. Every recipient is
accepted; the provider message id is `outbox-<row id>`.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from openmailer.core.ports.sending import ProviderContext
from openmailer.core.sending.contract import CheckReport, MessageForm, OutgoingMessage, ProviderType
from openmailer.core.sending.model import NewOutboxMessage
from openmailer.core.sending.outcomes import RecipientOutcome


class OutboxConfiguration(msgspec.Struct, forbid_unknown_fields=True):
    """The outbox needs no settings."""


class OutboxProviderClient:
    def __init__(self, context: ProviderContext) -> None:
        self._context = context

    async def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[RecipientOutcome]:
        kept = [(message, recipient) for message in messages for recipient in message.recipients]
        ids = await self._context.outbox.add(
            [
                NewOutboxMessage(
                    user_id=self._context.user_id,
                    recipient=recipient,
                    subject=message.subject,
                    message_id=message.message_id,
                    raw=_raw_of(message),
                    campaign_id=message.campaign_id,
                    provider_id=self._context.provider_id,
                )
                for message, recipient in kept
            ]
        )
        return [
            RecipientOutcome.accepted(message.message_id, recipient, f"outbox-{row_id}")
            for (message, recipient), row_id in zip(kept, ids, strict=True)
        ]

    async def check(self) -> CheckReport:
        return CheckReport(ok=True)

    async def aclose(self) -> None:
        return None


def _raw_of(message: OutgoingMessage) -> bytes:
    if message.raw is None:
        raise ValueError("the outbox keeps raw MIME: OutgoingMessage.raw is required")
    return message.raw


def open_outbox_client(
    configuration: OutboxConfiguration, context: ProviderContext
) -> OutboxProviderClient:
    return OutboxProviderClient(context)


OUTBOX = ProviderType(
    name="OUTBOX",
    configuration=OutboxConfiguration,
    message_form=MessageForm.RAW_MIME,
    open_client=open_outbox_client,
    description="keeps every message in PostgreSQL, readable at GET /api/v1/outbox",
)
