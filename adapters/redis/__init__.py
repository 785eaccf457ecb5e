"""Redis adapters: sessions, rate limits, TOTP replay guard, buffered API key usage, providers'
circuit breakers and daily/monthly limits.

Every key lives under the `om:` prefix; all state here is shared by every process (API, workers).
"""

from __future__ import annotations


def as_text(value: bytes | str) -> str:
    """A reply item as text: the clients answer bytes (no `decode_responses`); redis-py types
    replies `bytes | str`."""
    return value.decode() if isinstance(value, bytes) else value
