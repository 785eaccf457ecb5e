"""The audience area's rules on input: custom fields, tags, names, consent, double opt-in."""

from __future__ import annotations

import ipaddress
import json
import secrets
from datetime import datetime
from typing import Any

from openmailer.core.accounts.model import in_utc
from openmailer.core.audience.model import Consent, ContactList, ContactSource, ContactStatus
from openmailer.core.audience.status import LOCKED_STATUSES
from openmailer.core.errors import ValidationError

MAX_NAME_CHARS = 255
MAX_TAGS = 100
MAX_TAG_CHARS = 100
# custom_fields is JSONB: bounded so one contact cannot carry megabytes or a structure deep
# enough to make every later read and segment evaluation expensive.
MAX_CUSTOM_FIELDS_BYTES = 16_384
MAX_CUSTOM_FIELDS_DEPTH = 5
MAX_CUSTOM_FIELD_KEYS = 100
MAX_LIST_NAME_CHARS = 255
MAX_DESCRIPTION_CHARS = 10_000
CONFIRMATION_TOKEN_BYTES = 32  # 256 bits: unguessable; uniqueness is the column's constraint


def clean_name(value: str | None, *, field: str) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if len(value) > MAX_NAME_CHARS:
        raise ValidationError(
            f"{field} is limited to {MAX_NAME_CHARS} characters", field=field, code="too_long"
        )
    if "\x00" in value:
        raise ValidationError(f"{field} may not contain NUL", field=field, code="invalid_text")
    return value or None


def clean_tag(tag: str, *, field: str = "tags") -> str:
    tag = tag.strip()
    if not tag or len(tag) > MAX_TAG_CHARS or "\x00" in tag:
        raise ValidationError(
            f"a tag is 1 to {MAX_TAG_CHARS} characters, not blank", field=field, code="invalid_tag"
        )
    return tag


def clean_tags(tags: tuple[str, ...] | list[str], *, field: str = "tags") -> tuple[str, ...]:
    """Trimmed, without duplicates, sorted (tags are a set; the order carries nothing)."""
    cleaned = sorted({clean_tag(tag, field=field) for tag in tags})
    if len(cleaned) > MAX_TAGS:
        raise ValidationError(
            f"a contact has at most {MAX_TAGS} tags", field=field, code="too_many_tags"
        )
    return tuple(cleaned)


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(item) for item in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(item) for item in value), default=0)
    return 0


def _has_nul(value: Any) -> bool:
    # PostgreSQL's JSONB cannot store \u0000 in a string (or a key).
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def check_custom_fields(fields: dict[str, Any]) -> dict[str, Any]:
    def refuse(detail: str, code: str) -> ValidationError:
        return ValidationError(detail, field="custom_fields", code=code)

    if not isinstance(fields, dict):
        raise refuse("custom_fields is a JSON object", "invalid_custom_fields")
    if len(fields) > MAX_CUSTOM_FIELD_KEYS:
        raise refuse(f"at most {MAX_CUSTOM_FIELD_KEYS} custom fields", "too_many_custom_fields")
    if _depth(fields) > MAX_CUSTOM_FIELDS_DEPTH:
        raise refuse(
            f"custom_fields nests at most {MAX_CUSTOM_FIELDS_DEPTH} levels deep",
            "custom_fields_too_deep",
        )
    try:
        size = len(json.dumps(fields, ensure_ascii=False, allow_nan=False).encode())
    except ValueError:
        raise refuse(
            "custom_fields holds a value JSON cannot carry", "invalid_custom_fields"
        ) from None
    if size > MAX_CUSTOM_FIELDS_BYTES:
        raise refuse(
            f"custom_fields is limited to {MAX_CUSTOM_FIELDS_BYTES} bytes of JSON",
            "custom_fields_too_large",
        )
    if _has_nul(fields):
        raise refuse("custom_fields may not contain NUL characters", "invalid_custom_fields")
    return fields


def check_consent(consent: Consent, *, now: datetime) -> Consent:
    """Consent given without a date is dated now; the address must be an IP address."""
    address = consent.ip_address
    if address is not None:
        try:
            if "%" in address:  # a zone id names an interface of the sender's own machine
                raise ValueError(address)
            address = str(ipaddress.ip_address(address.strip()))
        except ValueError:
            raise ValidationError(
                "gdpr_ip_address is an IPv4 or IPv6 address",
                field="gdpr_ip_address",
                code="invalid_ip_address",
            ) from None
    date = None if consent.date is None else in_utc(consent.date, field="gdpr_consent_date")
    if consent.given and date is None:
        date = now
    if date is not None and date > now:
        raise ValidationError(
            "gdpr_consent_date is in the future", field="gdpr_consent_date", code="future_date"
        )
    return Consent(given=consent.given, date=date, ip_address=address)


def clean_list_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_LIST_NAME_CHARS or "\x00" in name:
        raise ValidationError(
            f"a list name is 1 to {MAX_LIST_NAME_CHARS} characters",
            field="name",
            code="invalid_list_name",
        )
    return name


def clean_description(description: str | None) -> str | None:
    if description is None:
        return None
    if len(description) > MAX_DESCRIPTION_CHARS or "\x00" in description:
        raise ValidationError(
            f"a description is at most {MAX_DESCRIPTION_CHARS} characters, without NUL",
            field="description",
            code="invalid_description",
        )
    return description


# --- double opt-in -------------------------------------------------------------------------


def needs_confirmation(contact_list: ContactList, source: ContactSource) -> bool:
    """A public form's sign-up to a double opt-in list waits for the address to confirm. The
    API, an import and a manual entry are the account owner's own word and are not held."""
    return contact_list.double_opt_in_enabled and source is ContactSource.WEB_FORM


def form_signup_status(contact_list: ContactList, current: ContactStatus | None) -> ContactStatus:
    """The status a form sign-up leaves: PENDING on a double opt-in list, SUBSCRIBED otherwise.
    A subscribed contact stays so. A bounced or complained address is not re-subscribed by a form
    (that needs the owner's recorded override); an unsubscribed one signing up again is treated
    as new, confirmation included."""
    if current is not None and (current is ContactStatus.SUBSCRIBED or current in LOCKED_STATUSES):
        return current
    if needs_confirmation(contact_list, ContactSource.WEB_FORM):
        return ContactStatus.PENDING
    return ContactStatus.SUBSCRIBED


def new_confirmation_token() -> str:
    return secrets.token_urlsafe(CONFIRMATION_TOKEN_BYTES)
