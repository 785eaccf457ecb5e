"""The recipient pages' use cases, bound to their ports once.

Every token or form id that does not name a row answers the same NotFound (`page_not_found`).
A sign-up answers by the list's kind alone; what became of the address (new, pending, already
subscribed, bounced, erased) is never told, and a confirmation mail goes to a pending address
at most once per `CONFIRMATION_RESEND_SECONDS`.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum

from openmailer.core.accounts.model import Principal
from openmailer.core.audience.model import Consent, ContactStatus
from openmailer.core.audience.service import AudienceService
from openmailer.core.audience.services.lists import list_not_found
from openmailer.core.campaigns.tokens import TokenPurpose, issue_token, read_token
from openmailer.core.errors import DomainError, RateLimited, ValidationError
from openmailer.core.ports.accounts import Clock, RateLimiter
from openmailer.core.ports.recipients import OwnerMail, PagesKey, RecipientPagesStore
from openmailer.core.recipients import csrf
from openmailer.core.recipients.mail import confirmation_draft
from openmailer.core.recipients.model import (
    PendingConfirmation,
    PublicForm,
    Recipient,
    SignUp,
    SignUpOutcome,
    Unsubscribed,
    check_form_fields,
    clean_field_value,
    clean_reason,
    page_not_found,
)
from openmailer.core.recipients.process_limit import ProcessWindowLimit

log = logging.getLogger("openmailer.recipients")

CONFIRMATION_RESEND_SECONDS = 600
MAX_TOKEN_CHARS = 200
RATE_WINDOW_SECONDS = 60


class Traffic(Enum):
    """Per client IP and minute. Sign-ups and confirmations are what a bot would flood; the
    one-click POST comes from mailbox providers' few servers, on behalf of many recipients, and
    is counted per process (`process_limit`); the others in Redis, across processes."""

    SIGN_UP = ("sign-up", 10)
    PAGE = ("page", 120)
    ONE_CLICK = ("one-click", 1200)

    def __init__(self, bucket: str, per_minute: int) -> None:
        self.bucket = bucket
        self.per_minute = per_minute


@dataclass(frozen=True)
class RecipientPagesPorts:
    store: RecipientPagesStore
    audience: AudienceService
    mail: OwnerMail
    key: PagesKey
    clock: Clock
    rate_limiter: RateLimiter
    base_url: str


def _address_or_none(client_ip: str | None) -> str | None:
    """The consent's IP address when the client's is one (a test client may have none)."""
    try:
        return None if client_ip is None else str(ipaddress.ip_address(client_ip))
    except ValueError:
        return None


class RecipientPagesService:
    def __init__(self, ports: RecipientPagesPorts) -> None:
        self.ports = ports
        self._one_click_limit = ProcessWindowLimit(
            Traffic.ONE_CLICK.per_minute, RATE_WINDOW_SECONDS
        )

    async def aclose(self) -> None:
        """The store's own connections (the app's lifespan closes its services at shutdown)."""
        await self.ports.store.aclose()

    async def admit(self, traffic: Traffic, client_ip: str) -> None:
        if traffic is Traffic.ONE_CLICK:
            retry_after = self._one_click_limit.hit(client_ip, self.ports.clock.now().timestamp())
            if retry_after is not None:
                raise RateLimited(
                    f"too many requests; retry in {retry_after}s", retry_after_seconds=retry_after
                )
            return
        decision = await self.ports.rate_limiter.hit(
            f"pages:{traffic.bucket}:{client_ip}",
            limit=traffic.per_minute,
            window_seconds=RATE_WINDOW_SECONDS,
        )
        if not decision.allowed:
            raise RateLimited(
                f"too many requests; retry in {decision.reset_seconds}s",
                retry_after_seconds=decision.reset_seconds,
            )

    # --- CSRF -----------------------------------------------------------------------------------

    async def csrf_token(self, path: str, nonce: str) -> str:
        key = await self.ports.key.get()
        return csrf.issue(key, path, nonce, now=int(self.ports.clock.now().timestamp()))

    async def csrf_valid(self, path: str, token: str | None, cookie_nonce: str | None) -> bool:
        if not token:
            return False
        key = await self.ports.key.get()
        now = int(self.ports.clock.now().timestamp())
        return csrf.verify(key, path, token, cookie_nonce, now=now)

    # --- the owner's side: the form's id and fields --------------------------------------------

    async def form_of_list(self, principal: Principal, list_id: int) -> PublicForm:
        found = await self.ports.store.form_of_list(principal.user.id, list_id)
        if found is None:
            raise list_not_found(list_id)
        return found

    async def set_form_fields(
        self, principal: Principal, list_id: int, fields: list[str]
    ) -> PublicForm:
        found = await self.ports.store.set_form_fields(
            principal.user.id, list_id, check_form_fields(fields)
        )
        if found is None:
            raise list_not_found(list_id)
        return found

    @property
    def secure_cookies(self) -> bool:
        """Cookies only over HTTPS when the installation is served over HTTPS (behind a proxy
        that ends TLS, the request itself says http)."""
        return self.ports.base_url.startswith("https://")

    def form_url(self, form: PublicForm) -> str:
        return f"{self.ports.base_url}/f/{form.public_id}"

    # --- subscribe forms ------------------------------------------------------------------------

    async def form(self, public_id: str) -> PublicForm:
        found = None
        if public_id.isascii() and public_id.isalnum() and len(public_id) <= 32:
            found = await self.ports.store.form(public_id)
        if found is None:
            raise page_not_found()
        return found

    async def sign_up(self, public_id: str, sign_up: SignUp) -> SignUpOutcome:
        """ValidationError for input the visitor can correct (the address, a missing consent,
        an over-long value); anything about the address's standing is kept to itself."""
        form = await self.form(public_id)
        if not sign_up.consent:
            raise ValidationError(
                "tick the box to agree to receive these mails", field="consent", code="no_consent"
            )
        fields = {
            name: value
            for name in form.fields
            if (value := clean_field_value(name, sign_up.fields.get(name, "")))
        }
        outcome = form.sign_up_outcome
        consent = Consent(
            given=True, date=self.ports.clock.now(), ip_address=_address_or_none(sign_up.client_ip)
        )
        try:
            contact = await self.ports.audience.sign_up_through_form(
                form.user_id,
                form.list_id,
                sign_up.email,
                first_name=sign_up.first_name,
                last_name=sign_up.last_name,
                custom_fields=fields,
                consent=consent,
            )
        except ValidationError as error:
            if error.code == "erased_address":
                return outcome  # the owner erased it; the visitor is not told
            raise
        if contact.status is ContactStatus.PENDING and contact.confirmation_token:
            await self._send_confirmation(
                form, contact.id, contact.email, contact.confirmation_token
            )
        return outcome

    async def _send_confirmation(
        self, form: PublicForm, contact_id: int, email: str, token: str
    ) -> None:
        now = self.ports.clock.now()
        not_since = now - timedelta(seconds=CONFIRMATION_RESEND_SECONDS)
        if not await self.ports.store.claim_confirmation_mail(
            contact_id, at=now, not_since=not_since
        ):
            return
        draft = confirmation_draft(
            form,
            sender=form.owner_email,
            to=email,
            confirm_url=f"{self.ports.base_url}/confirm/{token}",
        )
        try:
            await self.ports.mail.send(form.user_id, draft)
        except DomainError as error:
            # The sign-up stands (PENDING); the owner sees the failure in the email logs or
            # here. The visitor's page does not depend on it.
            log.warning(
                "confirmation_mail_refused",
                extra={"user_id": form.user_id, "contact_id": contact_id, "code": error.code},
            )

    async def pending_confirmation(self, token: str) -> PendingConfirmation:
        found = None
        if 20 <= len(token) <= MAX_TOKEN_CHARS and token.isascii():
            found = await self.ports.store.pending_confirmation(token)
        if found is None:
            raise page_not_found()
        return found

    async def confirm(self, token: str) -> PendingConfirmation:
        pending = await self.pending_confirmation(token)
        try:
            await self.ports.audience.confirm_subscription(token)
        except DomainError:
            raise page_not_found() from None
        return pending

    # --- unsubscribe and preferences ------------------------------------------------------------

    async def _tracking_id(self, purpose: TokenPurpose, token: str) -> str:
        tracking_id = None
        if len(token) <= MAX_TOKEN_CHARS:
            tracking_id = read_token(await self.ports.key.get(), purpose, token)
        if tracking_id is None:
            raise page_not_found()
        return tracking_id

    async def preferences_url(self, unsubscribe_token: str) -> str:
        """The preferences page of the recipient an (authentic) unsubscribe token names."""
        tracking_id = await self._tracking_id(TokenPurpose.UNSUBSCRIBE, unsubscribe_token)
        token = issue_token(await self.ports.key.get(), TokenPurpose.PREFERENCES, tracking_id)
        return f"{self.ports.base_url}/p/{token}"

    async def recipient(self, purpose: TokenPurpose, token: str) -> Recipient:
        found = await self.ports.store.recipient(await self._tracking_id(purpose, token))
        if found is None:
            raise page_not_found()
        return found

    async def unsubscribe(
        self, purpose: TokenPurpose, token: str, reason: str | None
    ) -> Unsubscribed:
        """Idempotent: a second call for the same token changes nothing and is no error. The
        caller answers, then hands the result to `move_counts` (off the request's latency)."""
        tracking_id = await self._tracking_id(purpose, token)
        done = await self.ports.store.unsubscribe(
            tracking_id, reason=clean_reason(reason), at=self.ports.clock.now()
        )
        if done is None:
            raise page_not_found()
        return done

    async def move_counts(self, unsubscribed: Unsubscribed) -> None:
        if unsubscribed.counts_to_move:
            await self.ports.store.move_counts(unsubscribed)

    async def choose_lists(self, token: str, subscribed: set[int]) -> Recipient:
        recipient = await self.recipient(TokenPurpose.PREFERENCES, token)
        own = {choice.list_id for choice in recipient.lists}
        await self.ports.store.choose_lists(
            recipient.contact_id,
            recipient.user_id,
            frozenset(subscribed & own),  # a list id not the contact's own is ignored
            at=self.ports.clock.now(),
        )
        return await self.recipient(TokenPurpose.PREFERENCES, token)
