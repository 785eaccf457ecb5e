"""How provider answers map to the three outcomes, the same for every provider.

SMTP (RFC 5321, 4.2.1): 2yz is a success, 4yz a transient negative completion (try again
later), 5yz a permanent one. Anything else (no reply, a malformed one) is treated as transient:
the message was not refused, so giving up on the recipient would lose it.
"""

from __future__ import annotations

from openmailer.core.sending.outcomes import OutcomeKind


def classify_smtp_reply(code: int) -> OutcomeKind:
    if 200 <= code < 300:
        return OutcomeKind.ACCEPTED
    if 500 <= code < 600:
        return OutcomeKind.PERMANENT
    return OutcomeKind.TRANSIENT
