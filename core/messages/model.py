"""Transactional messages as the messages area sees them: the request, its log row, the rules
its header inputs obey."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from openmailer.core.errors import ValidationError

# email_logs.subject is VARCHAR(500); addresses are VARCHAR(255) everywhere in the schema.
MAX_SUBJECT_CHARS = 500
MAX_ADDRESS_CHARS = 255
MAX_NAME_CHARS = 200
MAX_BODY_CHARS = 1_000_000
MAX_IDEMPOTENCY_KEY_CHARS = 255
# A transactional request names one recipient or a small list (each gets its own message);
# more is a campaign's work.
MAX_RECIPIENTS = 50
# A retry normally comes within minutes; a day covers a client that retries after an outage.
IDEMPOTENCY_TTL_SECONDS = 24 * 3600
FORBIDDEN_HEADER_CHARACTERS = ("\r", "\n", "\0")
# A contact in one of these states gets no more mail of its sender's, transactional included:
# a hard bounce means the mailbox is gone, a complaint that the recipient wants none.
SUPPRESSING_STATUSES = ("BOUNCED", "COMPLAINED")


class EmailType(StrEnum):
    CAMPAIGN = "CAMPAIGN"
    TRANSACTIONAL = "TRANSACTIONAL"
    CONFIRMATION = "CONFIRMATION"


class EmailStatus(StrEnum):
    QUEUED = "QUEUED"
    SENT = "SENT"
    DELIVERED = "DELIVERED"
    BOUNCED = "BOUNCED"
    FAILED = "FAILED"


@dataclass(frozen=True, slots=True)
class MessageDraft:
    """One message to one recipient (`to` an address), or the same message to each of a small
    list (`to` a tuple of at most MAX_RECIPIENTS addresses, each its own message). The content
    is inline (`subject` with `html` and/or `text`) or one of the sender's templates
    (`template_id`, its current version unless `template_version` names another), never both.
    `variables` fill `{{ custom.name }}` in the subject, HTML and text (sender_rs's template
    language)."""

    from_email: str
    to: str | tuple[str, ...]
    subject: str | None = None
    html: str | None = None
    text: str | None = None
    from_name: str | None = None
    reply_to: str | None = None
    variables: Mapping[str, Any] = field(default_factory=dict)
    template_id: int | None = None
    template_version: int | None = None

    @property
    def recipients(self) -> tuple[str, ...]:
        return (self.to,) if isinstance(self.to, str) else self.to

    def fingerprint(self) -> str:
        """The request's hash, stored with its idempotency key: the same key with another body
        is refused."""
        canonical = json.dumps(asdict(self), sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class EmailLogEntry:
    id: int
    user_id: int
    email_type: str
    recipient_email: str
    subject: str | None
    status: str
    provider_id: int | None
    provider_message_id: str | None
    error_message: str | None
    campaign_id: int | None
    sent_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NewEmailLog:
    user_id: int
    email_type: str
    recipient_email: str
    subject: str
    status: str
    provider_id: int | None = None


@dataclass(frozen=True, slots=True)
class EmailLogFilter:
    status: str | None = None
    email_type: str | None = None
    recipient: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


def check_header_value(value: str | None, *, field_name: str, max_chars: int) -> None:
    """CR, LF and NUL would let a value start a header of its own (header injection)."""
    if value is None:
        return
    if any(bad in value for bad in FORBIDDEN_HEADER_CHARACTERS):
        raise ValidationError(
            f"{field_name} must not contain CR, LF or NUL",
            field=field_name,
            code="header_injection",
        )
    if len(value) > max_chars:
        raise ValidationError(
            f"{field_name} is longer than {max_chars} characters",
            field=field_name,
            code="header_too_long",
        )


def check_draft(draft: MessageDraft) -> None:
    check_header_value(draft.from_email, field_name="from_email", max_chars=MAX_ADDRESS_CHARS)
    _check_recipients(draft.recipients)
    check_header_value(draft.reply_to, field_name="reply_to", max_chars=MAX_ADDRESS_CHARS)
    check_header_value(draft.from_name, field_name="from_name", max_chars=MAX_NAME_CHARS)
    check_header_value(draft.subject, field_name="subject", max_chars=MAX_SUBJECT_CHARS)
    if draft.template_id is not None:
        if (draft.subject, draft.html, draft.text) != (None, None, None):
            raise ValidationError(
                "give template_id or subject/html/text, not both",
                field="template_id",
                code="template_and_content",
            )
    else:
        _check_inline_content(draft)
    addresses = (("from_email", draft.from_email), ("reply_to", draft.reply_to))
    for name, address in addresses:
        if address is not None and not looks_like_address(address):
            raise ValidationError(f"{name} is not an email address", field=name)


def _check_recipients(recipients: tuple[str, ...]) -> None:
    if not recipients or len(recipients) > MAX_RECIPIENTS:
        raise ValidationError(
            f"to: one address, or a list of 1 to {MAX_RECIPIENTS}",
            field="to",
            code="too_many_recipients" if recipients else "no_recipient",
        )
    seen: set[str] = set()
    for index, address in enumerate(recipients):
        name = "to" if len(recipients) == 1 else f"/to/{index}"  # a JSON pointer into the body
        check_header_value(address, field_name=name, max_chars=MAX_ADDRESS_CHARS)
        if not looks_like_address(address):
            raise ValidationError(f"{name} is not an email address", field=name)
        if address.strip().lower() in seen:
            raise ValidationError(
                f"{name}: {address} is listed twice", field=name, code="duplicate_recipient"
            )
        seen.add(address.strip().lower())


def _check_inline_content(draft: MessageDraft) -> None:
    if draft.template_version is not None:
        raise ValidationError(
            "template_version needs a template_id",
            field="template_version",
            code="template_version_without_template",
        )
    if draft.subject is None or not draft.subject.strip():
        raise ValidationError(
            "give a subject (with html or text) or a template_id", field="subject"
        )
    if draft.html is None and draft.text is None:
        raise ValidationError("give html, text or both", field="html", code="no_content")
    for name, body in (("html", draft.html), ("text", draft.text)):
        if body is not None and len(body) > MAX_BODY_CHARS:
            raise ValidationError(f"{name} is longer than {MAX_BODY_CHARS} characters", field=name)


def check_idempotency_key(key: str) -> None:
    if (
        not key
        or len(key) > MAX_IDEMPOTENCY_KEY_CHARS
        or not key.isprintable()
        or not key.isascii()
    ):
        raise ValidationError(
            f"Idempotency-Key: 1 to {MAX_IDEMPOTENCY_KEY_CHARS} printable ASCII characters",
            field="Idempotency-Key",
            code="bad_idempotency_key",
        )


def looks_like_address(address: str) -> bool:
    local, at, domain = address.rpartition("@")
    return bool(at and local and "." in domain and " " not in address)


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].strip().lower().rstrip(".")
