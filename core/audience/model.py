"""Contacts, lists and memberships as the core sees them: plain values, never ORM rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class ContactStatus(StrEnum):
    PENDING = "PENDING"
    SUBSCRIBED = "SUBSCRIBED"
    UNSUBSCRIBED = "UNSUBSCRIBED"
    BOUNCED = "BOUNCED"
    COMPLAINED = "COMPLAINED"


class ContactSource(StrEnum):
    WEB_FORM = "WEB_FORM"
    CSV_IMPORT = "CSV_IMPORT"
    API = "API"
    MANUAL = "MANUAL"


class MembershipStatus(StrEnum):
    ACTIVE = "ACTIVE"
    REMOVED = "REMOVED"


@dataclass(frozen=True, slots=True)
class Contact:
    id: int
    user_id: int
    email: str
    first_name: str | None
    last_name: str | None
    status: ContactStatus
    email_verified: bool
    source: ContactSource | None
    tags: tuple[str, ...]
    custom_fields: dict[str, Any]
    gdpr_consent: bool
    gdpr_consent_date: datetime | None
    gdpr_ip_address: str | None
    confirmation_token: str | None
    confirmation_sent_at: datetime | None
    confirmed_at: datetime | None
    unsubscribed_at: datetime | None
    bounce_count: int
    complaint_count: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Consent:
    """GDPR consent as given: when, and from which address (both optional)."""

    given: bool
    date: datetime | None = None
    ip_address: str | None = None


@dataclass(frozen=True, slots=True)
class NewContact:
    """A contact to create (or, in a batch, to upsert by email); `email` is normalized."""

    email: str
    status: ContactStatus
    first_name: str | None = None
    last_name: str | None = None
    source: ContactSource = ContactSource.API
    tags: tuple[str, ...] = ()
    custom_fields: dict[str, Any] = field(default_factory=dict)
    consent: Consent | None = None
    confirmation_token: str | None = None
    confirmed_at: datetime | None = None
    unsubscribed_at: datetime | None = None


class Unset:
    """The value of a field a PATCH does not mention (None means "clear it")."""

    _instance: Unset | None = None

    def __new__(cls) -> Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET = Unset()


@dataclass(frozen=True, slots=True)
class ContactEdit:
    """What a caller asks to change; fields left UNSET stay as they are."""

    email: str | Unset = UNSET
    first_name: str | Unset | None = UNSET
    last_name: str | Unset | None = UNSET
    status: ContactStatus | Unset = UNSET
    status_override_reason: str | None = None
    source: ContactSource | Unset = UNSET
    tags: tuple[str, ...] | Unset = UNSET
    add_tags: tuple[str, ...] = ()
    remove_tags: tuple[str, ...] = ()
    custom_fields: dict[str, Any] | Unset = UNSET
    consent: Consent | Unset = UNSET


@dataclass(frozen=True, slots=True)
class ContactChanges:
    """The columns a repository writes, decided by the core (status already checked)."""

    values: dict[str, Any]
    add_tags: tuple[str, ...] = ()
    remove_tags: tuple[str, ...] = ()
    replace_tags: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class StatusOverride:
    """A recorded move of a BOUNCED or COMPLAINED contact back to SUBSCRIBED or PENDING."""

    contact_id: int
    user_id: int
    from_status: ContactStatus
    to_status: ContactStatus
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ContactFilter:
    status: ContactStatus | None = None
    tag: str | None = None
    list_id: int | None = None
    email_prefix: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


class BatchOutcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class BatchItemResult:
    index: int
    outcome: BatchOutcome
    email: str | None
    contact_id: int | None = None
    code: str | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class UpsertedContact:
    id: int
    email: str
    created: bool


@dataclass(frozen=True, slots=True)
class ContactList:
    id: int
    user_id: int
    name: str
    description: str | None
    double_opt_in_enabled: bool
    total_contacts: int
    active_contacts: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ListEdit:
    name: str | Unset = UNSET
    description: str | Unset | None = UNSET
    double_opt_in_enabled: bool | Unset = UNSET


@dataclass(frozen=True, slots=True)
class Member:
    """A membership row with its contact; REMOVED rows stay, with `unsubscribed_at` set."""

    contact: Contact
    list_id: int
    status: MembershipStatus
    subscribed_at: datetime | None
    unsubscribed_at: datetime | None


@dataclass(frozen=True, slots=True)
class MembersAdded:
    """`added`: new or re-activated memberships; `already`: were ACTIVE; `not_found`: ids or
    emails that name no contact of the caller's."""

    added: list[int]
    already: list[int]
    not_found_ids: list[int]
    not_found_emails: list[str]


@dataclass(frozen=True, slots=True)
class BatchItem:
    """One contact of a batch upsert. A field left None keeps what an existing contact has;
    `tags` are added to its tags."""

    email: str
    first_name: str | None = None
    last_name: str | None = None
    status: ContactStatus | None = None
    source: ContactSource | None = None
    tags: tuple[str, ...] = ()
    custom_fields: dict[str, Any] | None = None
    consent: Consent | None = None
