"""What the recipient pages need from storage and from the send path."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from openmailer.core.messages.model import MessageDraft
from openmailer.core.recipients.model import (
    PendingConfirmation,
    PublicForm,
    Recipient,
    Unsubscribed,
)


class RecipientPagesStore(Protocol):
    async def form(self, public_id: str) -> PublicForm | None:
        """The list whose public id this is, if its owner's account is enabled."""
        ...

    async def form_of_list(self, user_id: int, list_id: int) -> PublicForm | None: ...

    async def set_form_fields(
        self, user_id: int, list_id: int, fields: tuple[str, ...]
    ) -> PublicForm | None: ...

    async def recipient(self, tracking_id: str) -> Recipient | None:
        """The contact a campaign recipient row names, with the lists it is or was a member of
        (only that contact's owner's lists)."""
        ...

    async def unsubscribe(
        self, tracking_id: str, *, reason: str | None, at: datetime
    ) -> Unsubscribed | None:
        """In one short durable transaction on the contact's own rows: the contact UNSUBSCRIBED
        (a BOUNCED or COMPLAINED one keeps that status), every ACTIVE membership REMOVED. None
        when no recipient has that tracking id. A repeat changes nothing."""
        ...

    async def move_counts(self, unsubscribed: Unsubscribed) -> None:
        """The lists' counts and the campaign's `unsubscribe_count` moved by one unsubscribe
        (rows every unsubscribe of a campaign shares: kept out of the durable transaction)."""
        ...

    async def aclose(self) -> None:
        """Closes connections the store holds of its own (the process's engine is not)."""
        ...

    async def choose_lists(
        self, contact_id: int, user_id: int, subscribed: frozenset[int], *, at: datetime
    ) -> None:
        """The contact's memberships among its own lists made ACTIVE exactly for `subscribed`;
        with none left it is UNSUBSCRIBED; re-joining a list makes an UNSUBSCRIBED contact
        SUBSCRIBED again (the address itself asked, from a mail it received), never a BOUNCED or
        COMPLAINED one."""
        ...

    async def pending_confirmation(self, token: str) -> PendingConfirmation | None: ...

    async def claim_confirmation_mail(
        self, contact_id: int, *, at: datetime, not_since: datetime
    ) -> bool:
        """Records that a confirmation mail goes out now, unless one went out after
        `not_since` (then False: a form resubmitted in a loop sends one mail, not many)."""
        ...


class OwnerMail(Protocol):
    async def send(self, user_id: int, draft: MessageDraft) -> None:
        """Sends as the list's owner (its provider chain, or its outbox when it has none)."""
        ...


class PagesKey(Protocol):
    async def get(self) -> bytes:
        """The installation's tracking key: it signs the tokens in campaign mail and the
        pages' CSRF tokens (with a purpose of their own)."""
        ...
