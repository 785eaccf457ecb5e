"""What the recipient pages show and take: a list's public form, a sign-up, a recipient.

A recipient is named by the campaign mail it received (its campaign_recipients row's tracking
id, inside a signed token); the pages show only that contact's own data and lists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from openmailer.core.audience.model import ContactStatus
from openmailer.core.errors import NotFound, ValidationError

MAX_FORM_FIELDS = 20
MAX_FIELD_VALUE_CHARS = 500
MAX_REASON_CHARS = 500
FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
# Names the form already asks for under their own columns, or the page's own inputs.
RESERVED_FIELD_NAMES = frozenset(
    {"email", "first_name", "last_name", "consent", "csrf_token", "website", "reason"}
)


def page_not_found() -> NotFound:
    """One answer for every unknown, forged, spent or foreign token or form id: the page never
    tells which."""
    return NotFound("no such page", code="page_not_found")


class SignUpOutcome(Enum):
    """What the page says after a sign-up: decided by the list alone, never by the address (a
    visitor learns nothing about who is on a list)."""

    SUBSCRIBED = "subscribed"
    CONFIRM_BY_MAIL = "confirm_by_mail"


@dataclass(frozen=True, slots=True)
class PublicForm:
    list_id: int
    user_id: int
    public_id: str
    list_name: str
    description: str | None
    owner_name: str
    owner_email: str
    double_opt_in: bool
    fields: tuple[str, ...]

    @property
    def sign_up_outcome(self) -> SignUpOutcome:
        return SignUpOutcome.CONFIRM_BY_MAIL if self.double_opt_in else SignUpOutcome.SUBSCRIBED


@dataclass(frozen=True, slots=True)
class SignUp:
    email: str
    first_name: str | None
    last_name: str | None
    fields: dict[str, str]
    consent: bool
    client_ip: str | None


@dataclass(frozen=True, slots=True)
class ListChoice:
    list_id: int
    name: str
    subscribed: bool  # an ACTIVE membership


@dataclass(frozen=True, slots=True)
class Recipient:
    """A contact as the preferences page shows it to its own address."""

    contact_id: int
    user_id: int
    campaign_id: int
    owner_name: str
    owner_email: str
    email: str
    first_name: str | None
    last_name: str | None
    status: ContactStatus
    custom_fields: dict[str, Any]
    gdpr_consent: bool
    gdpr_consent_date: datetime | None
    lists: tuple[ListChoice, ...] = field(default=())

    @property
    def receives_mail(self) -> bool:
        return self.status in (ContactStatus.SUBSCRIBED, ContactStatus.PENDING)


@dataclass(frozen=True, slots=True)
class Unsubscribed:
    """What an unsubscribe left to count: the lists the contact left, whether it was
    SUBSCRIBED (it counted in their `active_contacts`), and the campaign whose mail it came from
    when this call is what unsubscribed it (None for a repeat or a contact that already
    received nothing)."""

    list_ids: tuple[int, ...]
    was_subscribed: bool
    campaign_id: int | None

    @property
    def counts_to_move(self) -> bool:
        return bool(self.list_ids) or self.campaign_id is not None


@dataclass(frozen=True, slots=True)
class PendingConfirmation:
    contact_id: int
    owner_name: str
    email: str


def check_form_fields(names: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The custom fields a list's form asks for: distinct names a template can also use."""
    cleaned: list[str] = []
    for name in names:
        if not FIELD_NAME.fullmatch(name) or name in RESERVED_FIELD_NAMES:
            raise ValidationError(
                f"a form field is a letter then up to 63 letters, digits or _, and not one of "
                f"{', '.join(sorted(RESERVED_FIELD_NAMES))}: {name[:80]!r}",
                field="form_fields",
                code="invalid_form_field",
            )
        if name not in cleaned:
            cleaned.append(name)
    if len(cleaned) > MAX_FORM_FIELDS:
        raise ValidationError(
            f"a form asks for at most {MAX_FORM_FIELDS} custom fields",
            field="form_fields",
            code="too_many_form_fields",
        )
    return tuple(cleaned)


def clean_field_value(name: str, value: str) -> str:
    value = value.strip()
    if len(value) > MAX_FIELD_VALUE_CHARS or "\x00" in value:
        raise ValidationError(
            f"{name} is limited to {MAX_FIELD_VALUE_CHARS} characters",
            field=name,
            code="too_long",
        )
    return value


def clean_reason(reason: str | None) -> str | None:
    """An unsubscribe reason is optional and never refused: an over-long one is cut."""
    if reason is None:
        return None
    reason = reason.replace("\x00", "").strip()[:MAX_REASON_CHARS]
    return reason or None
