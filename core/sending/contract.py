"""The provider contract's values: what a provider plugin registers and what it is given.

A plugin registers one `ProviderType` per kind of provider through the `register_providers`
hook: its type name, the msgspec Struct that validates its configuration (a wrong field is a 422
naming it), which of its fields are credentials (sealed, and shown only as set/unset), whether it
takes signed raw MIME or rendered parts, and `open_client`, which builds the client that sends
batches (`openmailer.core.ports.ProviderClient`). Plugins import these values and the ports from
`openmailer.core`, never anything from `openmailer.adapters`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openmailer.core.ports.rendering import SigningProfile
    from openmailer.core.ports.sending import ProviderClientFactory

# Type names are stored in email_providers.provider_type (VARCHAR(50)) and shown in the API.
PROVIDER_TYPE_PATTERN = r"^[A-Z][A-Z0-9_]{0,49}$"


class MessageForm(StrEnum):
    """RAW_MIME: the signed bytes exactly as they leave (SMTP, SES raw, the outbox).
    PARTS: rendered subject, HTML and text, for APIs that build the MIME themselves (SendGrid)."""

    RAW_MIME = "raw_mime"
    PARTS = "parts"


@dataclass(frozen=True, slots=True)
class RenderedParts:
    subject: str
    html: str | None = None
    text: str | None = None
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One message of a batch. `message_id` is its stable Message-ID: a retry sends the same one,
    so a duplicate after an ambiguous failure can be recognised. `raw` is set for RAW_MIME
    providers, `parts` for PARTS ones."""

    message_id: str
    sender: str
    recipients: tuple[str, ...]
    subject: str
    raw: bytes | None = None
    parts: RenderedParts | None = None
    campaign_id: int | None = None


@dataclass(frozen=True, slots=True)
class CheckReport:
    """The answer of a credentials check: `stage` names the step that failed (`connect`, `tls`,
    `auth`, ...), `detail` what the service said."""

    ok: bool
    stage: str | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class ProviderType:
    """`signing_profile` picks the headers the DKIM signature of RAW_MIME messages covers:
    `ses` leaves out those Amazon SES rewrites (Message-ID, Date)."""

    name: str
    configuration: type[Any]
    message_form: MessageForm
    open_client: ProviderClientFactory
    secret_fields: frozenset[str] = field(default_factory=frozenset)
    description: str = ""
    signing_profile: SigningProfile = "default"

    def __post_init__(self) -> None:
        if not re.fullmatch(PROVIDER_TYPE_PATTERN, self.name):
            raise ValueError(
                f"provider type {self.name!r}: upper-case letters, digits and _ (at most 50)"
            )
