"""The ports: `typing.Protocol` interfaces the core needs and the adapters implement.

Each area has its own module; this package re-exports them so callers (and third-party plugins)
write `from openmailer.core.ports import ...`.
"""

# accounts and access
from openmailer.core.ports.accounts import (
    ApiKeyRepository,
    ApiKeyUsage,
    Clock,
    NewApiKeyRecord,
    PasswordHasher,
    RateDecision,
    RateLimiter,
    SecretBox,
    SessionStore,
    TotpReplayGuard,
    UserRepository,
)

# rendering (the sender_rs send core)
from openmailer.core.ports.rendering import (
    CampaignContent,
    CompiledCampaign,
    DkimKey,
    MessageRenderer,
    RecipientData,
    RenderedMessage,
    RenderedParts,
    RenderError,
    RenderOutcome,
    TemplateInvalid,
    TrackedLink,
)

__all__ = [
    "ApiKeyRepository",
    "ApiKeyUsage",
    "CampaignContent",
    "Clock",
    "CompiledCampaign",
    "DkimKey",
    "MessageRenderer",
    "NewApiKeyRecord",
    "PasswordHasher",
    "RateDecision",
    "RateLimiter",
    "RecipientData",
    "RenderError",
    "RenderOutcome",
    "RenderedMessage",
    "RenderedParts",
    "SecretBox",
    "SessionStore",
    "TemplateInvalid",
    "TotpReplayGuard",
    "TrackedLink",
    "UserRepository",
]
