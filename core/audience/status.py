"""The one state machine of a contact's status.

PENDING waits for a confirmation (double opt-in); SUBSCRIBED receives campaigns; UNSUBSCRIBED,
BOUNCED and COMPLAINED do not. BOUNCED and COMPLAINED are facts about the address (a hard bounce,
a spam report): sending to it again harms the sender's reputation, so moving such a contact back
to SUBSCRIBED or PENDING needs an explicit override with a reason, which is recorded. Every other
move is allowed: an unsubscribed contact may subscribe again, any contact may unsubscribe, bounce
or complain.
"""

from __future__ import annotations

from dataclasses import dataclass

from openmailer.core.audience.model import ContactStatus
from openmailer.core.errors import ValidationError

LOCKED_STATUSES = frozenset({ContactStatus.BOUNCED, ContactStatus.COMPLAINED})
RECEIVING_STATUSES = frozenset({ContactStatus.SUBSCRIBED, ContactStatus.PENDING})
MAX_OVERRIDE_REASON_CHARS = 500


@dataclass(frozen=True, slots=True)
class Transition:
    current: ContactStatus
    target: ContactStatus
    overridden: bool

    @property
    def changes(self) -> bool:
        return self.current is not self.target

    @property
    def confirms(self) -> bool:
        return self.current is ContactStatus.PENDING and self.target is ContactStatus.SUBSCRIBED

    @property
    def unsubscribes(self) -> bool:
        return self.changes and self.target is ContactStatus.UNSUBSCRIBED


def needs_override(current: ContactStatus, target: ContactStatus) -> bool:
    return current in LOCKED_STATUSES and target in RECEIVING_STATUSES


def transition(
    current: ContactStatus, target: ContactStatus, *, override_reason: str | None = None
) -> Transition:
    """The move from `current` to `target`, or a 422 when it needs an override it lacks."""
    if not needs_override(current, target):
        return Transition(current, target, overridden=False)
    reason = (override_reason or "").strip()
    if not reason:
        raise ValidationError(
            f"a {current.value} contact becomes {target.value} only with an explicit override: "
            "send `status_override_reason` saying why",
            field="status",
            code="status_override_required",
        )
    if len(reason) > MAX_OVERRIDE_REASON_CHARS or "\x00" in reason:
        raise ValidationError(
            f"the override reason is 1 to {MAX_OVERRIDE_REASON_CHARS} characters, without NUL",
            field="status_override_reason",
            code="override_reason_too_long",
        )
    return Transition(current, target, overridden=True)
