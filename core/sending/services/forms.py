"""What provider types are given: their message forms decide what the renderer produces.

RAW_MIME types get the signed bytes, signed with the type's `signing_profile` (SES leaves
Message-ID and Date unsigned); PARTS types get the rendered subject, HTML, text and headers.
A message goes through a whole failover chain, whose providers may take different forms, so
`render_outgoing` renders each recipient once per form the chain needs and one `OutgoingMessage`
carries them all (`raw` and `parts`). Rendering is deterministic for a recipient and timestamp
(the same Message-ID and Date in both forms), and microseconds in sender_rs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.parser import BytesHeaderParser

from openmailer.core.ports.rendering import (
    CompiledCampaign,
    MessageRenderer,
    RecipientData,
    RenderedMessage,
    RenderError,
    RenderOutcome,
    SigningProfile,
)
from openmailer.core.ports.rendering import RenderedParts as RendererParts
from openmailer.core.sending.contract import (
    MessageForm,
    OutgoingMessage,
    ProviderType,
    RenderedParts,
)

DEFAULT_PROFILE: SigningProfile = "default"


@dataclass(frozen=True, slots=True)
class FormsNeeded:
    """`raw_profile`: None when no provider of the chain takes raw MIME."""

    raw_profile: SigningProfile | None
    parts: bool


def forms_needed(provider_types: Sequence[ProviderType]) -> FormsNeeded:
    """An empty chain is the outbox, which keeps raw MIME. A profile that signs fewer headers
    (SES's) still verifies everywhere, so one non-default profile in the chain is used for all
    its raw providers."""
    if not provider_types:
        return FormsNeeded(raw_profile=DEFAULT_PROFILE, parts=False)
    raw = [t.signing_profile for t in provider_types if t.message_form is MessageForm.RAW_MIME]
    special = [profile for profile in raw if profile != DEFAULT_PROFILE]
    profile = special[0] if special else (DEFAULT_PROFILE if raw else None)
    parts = any(t.message_form is MessageForm.PARTS for t in provider_types)
    return FormsNeeded(raw_profile=profile, parts=parts)


def render_outgoing(
    needed: FormsNeeded,
    renderer: MessageRenderer,
    compiled: CompiledCampaign,
    recipients: Sequence[RecipientData],
    *,
    sender: str,
    timestamp: int,
    campaign_id: int | None = None,
) -> list[OutgoingMessage | RenderError]:
    """One message (or the recipient's render error) per recipient, in order, in every form
    `needed` names; `timestamp` (the caller's clock, Unix seconds) dates and signs them."""
    at = timestamp
    raw: list[RenderOutcome] = []
    parts: list[RenderOutcome] = []
    if needed.raw_profile is not None:
        raw = renderer.render_batch(
            compiled, recipients, output="mime", profile=needed.raw_profile, timestamp=at
        )
    if needed.parts:
        parts = renderer.render_batch(compiled, recipients, output="parts", timestamp=at)
    results: list[OutgoingMessage | RenderError] = []
    for index, recipient in enumerate(recipients):
        mime = raw[index] if raw else None
        rendered_parts = parts[index] if parts else None
        failed = next(
            (r for r in (mime, rendered_parts) if isinstance(r, RenderError)),
            None,
        )
        if failed is not None:
            results.append(failed)
            continue
        results.append(
            _message(
                mime if isinstance(mime, RenderedMessage) else None,
                rendered_parts if isinstance(rendered_parts, RendererParts) else None,
                sender=sender,
                recipient=recipient.email,
                campaign_id=campaign_id,
            )
        )
    return results


def _message(
    mime: RenderedMessage | None,
    parts: RendererParts | None,
    *,
    sender: str,
    recipient: str,
    campaign_id: int | None,
) -> OutgoingMessage:
    if parts is not None:
        message_id, subject = parts.message_id, parts.subject
    elif mime is not None:
        message_id = mime.message_id
        subject = subject_of(mime.data) if mime.subject is None else mime.subject
    else:
        raise ValueError("nothing was rendered")
    return OutgoingMessage(
        message_id=message_id,
        sender=sender,
        recipients=(recipient,),
        subject=subject,
        raw=None if mime is None else mime.data,
        parts=None
        if parts is None
        else RenderedParts(
            subject=parts.subject,
            html=parts.html or None,
            text=parts.text or None,
            headers=parts.headers,
        ),
        campaign_id=campaign_id,
    )


def subject_of(raw: bytes) -> str:
    """The rendered subject (variables filled in), read back from the signed MIME's header
    block only: the parser would otherwise walk every line of the body (20 KB and more) for a
    header it has already read, which cost more than the render of the message itself."""
    end = raw.find(b"\r\n\r\n")
    head = raw if end < 0 else raw[: end + 4]
    encoded = BytesHeaderParser().parsebytes(head).get("Subject")
    return "" if encoded is None else str(make_header(decode_header(str(encoded))))
