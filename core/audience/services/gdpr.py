"""GDPR: export everything held about a contact, erase it, and refuse to re-add an erased address.

The erasure keeps a tombstone (a keyed hash of the address, never the address) per user; every
way a contact is created (one, a batch, a public form) asks `erasures.erased_among` first.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from openmailer.core.accounts.model import Principal
from openmailer.core.audience.services.contacts import contact_not_found, erased_address
from openmailer.core.ports.accounts import Clock
from openmailer.core.ports.audience import ContactErasures, ContactExports


async def refuse_erased(user_id: int, email: str, *, erasures: ContactErasures) -> None:
    if await erasures.erased_among(user_id, [email]):
        raise erased_address(email)


async def export_contact(
    principal: Principal, contact_id: int, *, exports: ContactExports
) -> AsyncIterator[bytes]:
    """The document's chunks; NotFound before the first one when the contact is not the
    caller's, so the answer is a plain 404 and not a broken stream."""
    chunks = await exports.open(principal.user.id, contact_id)
    if chunks is None:
        raise contact_not_found(contact_id)
    return chunks


async def erase_contact(
    principal: Principal, contact_id: int, *, erasures: ContactErasures, clock: Clock
) -> dict[str, int]:
    removed = await erasures.erase(principal.user.id, contact_id, at=clock.now())
    if removed is None:
        raise contact_not_found(contact_id)
    return removed
