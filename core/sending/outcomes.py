"""What became of one recipient of a send: the three outcomes every provider reports.

A provider client answers one `RecipientOutcome` per recipient of every message it was given.
ACCEPTED carries the provider's message id; TRANSIENT may be retried (timeouts, 4xx, throttling,
connection loss); PERMANENT must not be (5xx for that recipient). `ambiguous` marks a transient
failure after which the message may nevertheless have been delivered (the connection dropped
after the whole message was sent but before the provider's `250`): retrying it may duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class OutcomeKind(StrEnum):
    ACCEPTED = "accepted"
    TRANSIENT = "transient"
    PERMANENT = "permanent"


@dataclass(frozen=True, slots=True)
class RecipientOutcome:
    message_id: str
    recipient: str
    kind: OutcomeKind
    provider_message_id: str | None = None
    detail: str | None = None
    ambiguous: bool = False

    @classmethod
    def accepted(
        cls, message_id: str, recipient: str, provider_message_id: str
    ) -> RecipientOutcome:
        return cls(message_id, recipient, OutcomeKind.ACCEPTED, provider_message_id)

    @classmethod
    def transient(
        cls, message_id: str, recipient: str, detail: str, *, ambiguous: bool = False
    ) -> RecipientOutcome:
        return cls(message_id, recipient, OutcomeKind.TRANSIENT, detail=detail, ambiguous=ambiguous)

    @classmethod
    def permanent(cls, message_id: str, recipient: str, detail: str) -> RecipientOutcome:
        return cls(message_id, recipient, OutcomeKind.PERMANENT, detail=detail)

    @property
    def retryable(self) -> bool:
        return self.kind is OutcomeKind.TRANSIENT
