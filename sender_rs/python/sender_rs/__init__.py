"""OpenMailer's bulk send core, implemented in Rust.

Compile a campaign once with `compile_template` (from an object with the attributes of
`openmailer.core.ports.rendering.CampaignContent`), parse its DKIM keys once with
`SigningKey.from_pem`, then call `render_batch` per batch of recipients. See `_sender_rs.pyi` for
the token and URL formats.
"""

from sender_rs._sender_rs import (
    CompiledTemplate,
    Recipient,
    RenderedMessage,
    RenderedParts,
    RenderFailure,
    SigningKey,
    TrackedLink,
    __version__,
    compile_template,
    render_batch,
    smtp_data,
    verify_click_token,
    verify_open_token,
)
from sender_rs.errors import (
    HeaderError,
    InternalError,
    RecipientError,
    SenderError,
    SigningKeyError,
    TemplateError,
)

__all__ = [
    "CompiledTemplate",
    "HeaderError",
    "InternalError",
    "Recipient",
    "RecipientError",
    "RenderFailure",
    "RenderedMessage",
    "RenderedParts",
    "SenderError",
    "SigningKey",
    "SigningKeyError",
    "TemplateError",
    "TrackedLink",
    "__version__",
    "compile_template",
    "render_batch",
    "smtp_data",
    "verify_click_token",
    "verify_open_token",
]
