"""OpenMailer's bulk send core, implemented in Rust.

Compile a campaign once with `compile_template`, parse its DKIM keys once with
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
    verify_click_token,
    verify_open_token,
)
from sender_rs.errors import HeaderError, SigningKeyError, TemplateError

__all__ = [
    "CompiledTemplate",
    "HeaderError",
    "Recipient",
    "RenderFailure",
    "RenderedMessage",
    "RenderedParts",
    "SigningKey",
    "SigningKeyError",
    "TemplateError",
    "TrackedLink",
    "__version__",
    "compile_template",
    "render_batch",
    "verify_click_token",
    "verify_open_token",
]
