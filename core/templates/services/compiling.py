"""Compiling a template's content in sender_rs: on save (to refuse what cannot render) and for a
preview. Transactional messages compile with their own sender (`core.messages.services.send`)."""

from __future__ import annotations

import secrets

from openmailer.core.errors import ValidationError
from openmailer.core.ports.rendering import (
    CampaignContent,
    CompiledCampaign,
    MessageRenderer,
    RecipientData,
    RenderedParts,
    TemplateInvalid,
)
from openmailer.core.templates.model import (
    RenderedPreview,
    SampleRecipient,
    TemplateContent,
    TemplateSyntaxError,
)

# A template has no sender of its own; campaigns and messages give theirs when they send.
PLACEHOLDER_SENDER = "templates@openmailer.example"
# A preview's unsubscribe and preferences links point at no real contact.
PREVIEW_LINK_TOKEN = "preview"  # noqa: S105 (not a secret)


def compile_content(
    content: TemplateContent, *, renderer: MessageRenderer, base_url: str
) -> CompiledCampaign:
    """Raises `TemplateSyntaxError` (a 422 with part, line and column)."""
    spec = CampaignContent(
        campaign_id="template",
        subject=content.subject,
        html=content.html if content.html is not None else "",
        text=content.text,
        preview_text=content.preview_text,
        from_email=PLACEHOLDER_SENDER,
        list_id=PLACEHOLDER_SENDER.partition("@")[2],
        base_url=base_url,
        tracking_secret=secrets.token_bytes(32),  # tracking is off: never checked
        track_opens=False,
        track_clicks=False,
    )
    try:
        return renderer.compile(spec)
    except TemplateInvalid as error:
        raise TemplateSyntaxError.of(error) from None


def render_preview(
    compiled: CompiledCampaign, recipient: SampleRecipient, *, renderer: MessageRenderer
) -> RenderedPreview:
    sample = RecipientData(
        tracking_id=secrets.token_hex(8),
        email=recipient.email,
        unsubscribe_token=PREVIEW_LINK_TOKEN,
        first_name=recipient.first_name,
        last_name=recipient.last_name,
        custom=recipient.custom,
        preferences_token=PREVIEW_LINK_TOKEN,
    )
    (rendered,) = renderer.render_batch(compiled, [sample], output="parts")
    if not isinstance(rendered, RenderedParts):
        detail = getattr(rendered, "error", "the template could not be rendered")
        raise ValidationError(detail, field="variables", code="render_failed")
    return RenderedPreview(subject=rendered.subject, html=rendered.html, text=rendered.text)
