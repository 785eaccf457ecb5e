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

__all__ = [
    "ApiKeyRepository",
    "ApiKeyUsage",
    "Clock",
    "NewApiKeyRecord",
    "PasswordHasher",
    "RateDecision",
    "RateLimiter",
    "SecretBox",
    "SessionStore",
    "TotpReplayGuard",
    "UserRepository",
]
