"""How provider answers map to the three outcomes, the same for every provider; and when mail
needs a verified sending domain (transactional messages and campaigns share the rule).

SMTP (RFC 5321, 4.2.1): 2yz is a success, 4yz a transient negative completion (try again
later), 5yz a permanent one. Anything else (no reply, a malformed one) is treated as transient:
the message was not refused, so giving up on the recipient would lose it.
"""

from __future__ import annotations

from openmailer.core.domains.model import Domain, DomainStatus
from openmailer.core.sending.model import Provider
from openmailer.core.sending.outcomes import OutcomeKind

OUTBOX_TYPE = "OUTBOX"


def classify_smtp_reply(code: int) -> OutcomeKind:
    if 200 <= code < 300:
        return OutcomeKind.ACCEPTED
    if 500 <= code < 600:
        return OutcomeKind.PERMANENT
    return OutcomeKind.TRANSIENT


def reaches_only_outbox(provider: Provider | None, *, test_mode: bool) -> bool:
    """Mail that can only land in the local outbox: an `om_test_` key's, a user with no
    provider, or one whose provider is the OUTBOX type."""
    return test_mode or provider is None or provider.provider_type == OUTBOX_TYPE


def sender_domain_ready(domain: Domain | None, *, outbox_only: bool) -> bool:
    """A real provider needs the From domain to be the caller's VERIFIED domain; the outbox
    delivers nowhere, so a first message (or campaign) works before any DNS is set up."""
    return outbox_only or (domain is not None and domain.status == DomainStatus.VERIFIED)
