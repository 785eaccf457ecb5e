"""What a provider type is given: its message form decides what the renderer produces.

RAW_MIME types get the signed bytes, signed with the type's `signing_profile` (SES leaves
Message-ID and Date unsigned); PARTS types get the rendered subject, HTML, text and headers.
A send path renders with `render_for` and wraps each result with `outgoing_of`.
"""

from __future__ import annotations

from collections.abc import Sequence

from openmailer.core.ports.rendering import (
    CompiledCampaign,
    MessageRenderer,
    RecipientData,
    RenderedMessage,
    RenderOutcome,
)
from openmailer.core.ports.rendering import RenderedParts as RendererParts
from openmailer.core.sending.contract import (
    MessageForm,
    OutgoingMessage,
    ProviderType,
    RenderedParts,
)


def render_for(
    provider_type: ProviderType,
    renderer: MessageRenderer,
    compiled: CompiledCampaign,
    recipients: Sequence[RecipientData],
    *,
    timestamp: int | None = None,
) -> list[RenderOutcome]:
    """One outcome per recipient, in the form `provider_type` takes."""
    if provider_type.message_form is MessageForm.PARTS:
        return renderer.render_batch(compiled, recipients, output="parts", timestamp=timestamp)
    return renderer.render_batch(
        compiled,
        recipients,
        output="mime",
        profile=provider_type.signing_profile,
        timestamp=timestamp,
    )


def outgoing_of(
    rendered: RenderedMessage | RendererParts,
    *,
    sender: str,
    recipients: tuple[str, ...],
    subject: str,
    campaign_id: int | None = None,
) -> OutgoingMessage:
    """The message a provider client sends: `raw` for signed MIME, `parts` for parts."""
    if isinstance(rendered, RenderedMessage):
        return OutgoingMessage(
            message_id=rendered.message_id,
            sender=sender,
            recipients=recipients,
            subject=subject,
            raw=rendered.data,
            campaign_id=campaign_id,
        )
    return OutgoingMessage(
        message_id=rendered.message_id,
        sender=sender,
        recipients=recipients,
        subject=rendered.subject,
        parts=RenderedParts(
            subject=rendered.subject,
            html=rendered.html or None,
            text=rendered.text or None,
            headers=rendered.headers,
        ),
        campaign_id=campaign_id,
    )
