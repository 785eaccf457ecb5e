"""Bearer credentials: API keys (`om_live_`/`om_test_` + 56 characters) and session tokens.

Only SHA-256 digests of either are ever stored. The stored display prefix is the first ten
characters (`om_live_ab`): the column is VARCHAR(10) and the eight-character mode prefix alone would
not tell two keys apart.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
from dataclasses import dataclass
from enum import StrEnum

KEY_BODY_LENGTH = 56
DISPLAY_PREFIX_LENGTH = 10
SESSION_TOKEN_PREFIX = "om_sess_"  # noqa: S105 - a public marker, not a secret
_ALPHABET = string.ascii_letters + string.digits
_API_KEY = re.compile(rf"^om_(live|test)_[A-Za-z0-9]{{{KEY_BODY_LENGTH}}}$")
_SESSION_TOKEN = re.compile(r"^om_sess_[A-Za-z0-9_-]{43}$")


class KeyMode(StrEnum):
    LIVE = "live"
    TEST = "test"


@dataclass(frozen=True, slots=True)
class NewApiKey:
    plaintext: str
    digest: str
    display_prefix: str
    mode: KeyMode


def generate_api_key(mode: KeyMode) -> NewApiKey:
    body = "".join(secrets.choice(_ALPHABET) for _ in range(KEY_BODY_LENGTH))
    plaintext = f"om_{mode.value}_{body}"
    return NewApiKey(plaintext, digest(plaintext), plaintext[:DISPLAY_PREFIX_LENGTH], mode)


def api_key_mode(candidate: str) -> KeyMode | None:
    """The key's mode when it is well-formed; None for anything else (never raises on input)."""
    match = _API_KEY.match(candidate)
    return KeyMode(match.group(1)) if match else None


def is_test_key_prefix(display_prefix: str) -> bool:
    return display_prefix.startswith("om_test_")


def generate_session_token() -> str:
    return SESSION_TOKEN_PREFIX + secrets.token_urlsafe(32)


def is_session_token(candidate: str) -> bool:
    return bool(_SESSION_TOKEN.match(candidate))


def digest(secret: str) -> str:
    """Hex SHA-256: enough for high-entropy random secrets (no salt or stretching needed)."""
    return hashlib.sha256(secret.encode()).hexdigest()
