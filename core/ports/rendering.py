"""Rendering port: compile a campaign's content once, then render batches of recipients.

Standard library only. The adapter (`openmailer.adapters.native`) implements it with the Rust
`sender_rs` extension; tests may use any fake that satisfies the Protocols.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

OutputKind = Literal["mime", "parts"]
SigningProfile = Literal["default", "ses"]


@dataclass(frozen=True, slots=True)
class TrackedLink:
    """A link the campaign tracks: stored in `campaign_links`, resolved by the click endpoint."""

    index: int
    url: str


@dataclass(frozen=True, slots=True)
class DkimKey:
    domain: str
    selector: str
    private_key_pem: str


@dataclass(frozen=True, slots=True)
class CampaignContent:
    """The native renderer reads these attributes by name (`CampaignSpec` in
    `sender_rs/src/campaign.rs`): a field is declared here and there."""

    campaign_id: str
    subject: str
    html: str
    from_email: str
    list_id: str
    base_url: str
    tracking_secret: bytes
    text: str | None = None
    preview_text: str | None = None
    from_name: str | None = None
    reply_to: str | None = None
    list_name: str | None = None
    track_opens: bool = True
    track_clicks: bool = True
    unsubscribe_mailto: str | None = None
    extra_headers: tuple[tuple[str, str], ...] = ()
    # False for mail that belongs to no list (transactional): no List-Unsubscribe,
    # List-Unsubscribe-Post or List-Id header.
    list_headers: bool = True


@dataclass(frozen=True, slots=True)
class RecipientData:
    tracking_id: str
    email: str
    unsubscribe_token: str
    first_name: str | None = None
    last_name: str | None = None
    custom: Mapping[str, object] = field(default_factory=dict)
    preferences_token: str | None = None


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    """Signed RFC 5322 bytes for providers that take raw MIME (SMTP, SES raw). `subject`: the
    rendered Subject as the renderer wrote it (None: read it back from `data`)."""

    tracking_id: str
    message_id: str
    data: bytes
    subject: str | None = None


@dataclass(frozen=True, slots=True)
class RenderedParts:
    """Rendered parts for providers that build MIME themselves (SendGrid)."""

    tracking_id: str
    message_id: str
    subject: str
    html: str
    text: str
    headers: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class RenderError:
    """One recipient that could not be rendered; an outcome, not an exception."""

    tracking_id: str
    error: str


RenderOutcome = RenderedMessage | RenderedParts | RenderError


class TemplateInvalid(ValueError):
    """The campaign content cannot be compiled (`line`/`column` are 1-based, 0 when n/a)."""

    def __init__(self, message: str, part: str = "", line: int = 0, column: int = 0) -> None:
        super().__init__(message)
        self.part = part
        self.line = line
        self.column = column


class CompiledCampaign(Protocol):
    @property
    def campaign_id(self) -> str: ...

    @property
    def links(self) -> Sequence[TrackedLink]: ...


class MessageRenderer(Protocol):
    def compile(self, content: CampaignContent, keys: Sequence[DkimKey] = ()) -> CompiledCampaign:
        """Compiles once per campaign and parses the DKIM keys; raises `TemplateInvalid`."""
        ...

    def render_batch(
        self,
        campaign: CompiledCampaign,
        recipients: Sequence[RecipientData],
        *,
        output: OutputKind = "mime",
        profile: SigningProfile = "default",
        timestamp: int | None = None,
    ) -> list[RenderOutcome]:
        """One outcome per recipient, in order; a bad recipient never fails the batch."""
        ...


__all__ = [
    "CampaignContent",
    "CompiledCampaign",
    "DkimKey",
    "MessageRenderer",
    "RecipientData",
    "RenderError",
    "RenderOutcome",
    "RenderedMessage",
    "RenderedParts",
    "TemplateInvalid",
    "TrackedLink",
]
