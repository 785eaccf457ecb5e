"""A third-party provider plugin, as an outside author writes one.

It imports only `openmailer.plugins` (the hook marker) and `openmailer.core` (the contract's
values and ports), never `openmailer.adapters`. Its RECORDING type keeps every batch in
`SENT` and answers by the recipient's local part: `bounce…` is a permanent failure,
`later…` a transient one, anything else accepted with a message id of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import msgspec

from openmailer.core.ports import ProviderClient, ProviderContext
from openmailer.core.registry import Registrar
from openmailer.core.sending.contract import CheckReport, MessageForm, OutgoingMessage, ProviderType
from openmailer.core.sending.outcomes import RecipientOutcome
from openmailer.plugins import hookimpl

SENT: list[tuple[int, str, list[OutgoingMessage]]] = []  # (user id, endpoint, batch)


class RecordingConfiguration(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    endpoint: Annotated[str, msgspec.Meta(pattern=r"^https://", max_length=200)]
    token: Annotated[str, msgspec.Meta(min_length=8, max_length=200)]
    region: str = "eu"


class RecordingClient:
    def __init__(self, configuration: RecordingConfiguration, context: ProviderContext) -> None:
        self.configuration = configuration
        self.context = context
        self.closed = False

    async def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[RecipientOutcome]:
        SENT.append((self.context.user_id, self.configuration.endpoint, list(messages)))
        outcomes = []
        for message in messages:
            for recipient in message.recipients:
                local = recipient.split("@", 1)[0]
                if local.startswith("bounce"):
                    outcomes.append(
                        RecipientOutcome.permanent(message.message_id, recipient, "550 bounced")
                    )
                elif local.startswith("later"):
                    outcomes.append(
                        RecipientOutcome.transient(message.message_id, recipient, "throttled")
                    )
                else:
                    outcomes.append(
                        RecipientOutcome.accepted(
                            message.message_id, recipient, f"rec-{len(SENT)}-{recipient}"
                        )
                    )
        return outcomes

    async def check(self) -> CheckReport:
        if self.configuration.token.startswith("bad"):
            return CheckReport(ok=False, stage="auth", detail="token refused")
        return CheckReport(ok=True)

    async def aclose(self) -> None:
        self.closed = True


def open_recording_client(
    configuration: RecordingConfiguration, context: ProviderContext
) -> ProviderClient:
    return RecordingClient(configuration, context)


RECORDING = ProviderType(
    name="RECORDING",
    configuration=RecordingConfiguration,
    message_form=MessageForm.PARTS,
    open_client=open_recording_client,
    secret_fields=frozenset({"token"}),
    description="records batches in memory (tests only)",
)


@hookimpl
def register_providers(providers: Registrar[ProviderType]) -> None:
    providers.add(RECORDING.name, RECORDING)
