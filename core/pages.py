"""Pages of a collection, the same for every area.

`Page` is an offset page (small collections where a total is cheap: users, API keys). `KeysetPage`
is for collections that grow without bound (contacts, recipients, events): the next page starts
after the last item's sort key, so page 1,000 costs what page 1 costs and rows inserted meanwhile
never shift an item onto two pages. The cursor is opaque to clients.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Generic, TypeVar

from openmailer.core.errors import ValidationError

T = TypeVar("T")
MAX_CURSOR_CHARS = 2048


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True, slots=True)
class KeysetPage(Generic[T]):
    """`next_cursor` is None on the last page."""

    items: list[T]
    limit: int
    next_cursor: str | None


def encode_cursor(sort_key: list[str | int]) -> str:
    """The position after an item, from its sort key (e.g. `[created_at_iso, id]`)."""
    raw = json.dumps(sort_key, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *, arity: int) -> list[str | int]:
    """The sort key a cursor carries; a cursor that was not ours is a 4xx, never a 500."""
    try:
        if len(cursor) > MAX_CURSOR_CHARS:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        key = None
    valid = (
        isinstance(key, list)
        and len(key) == arity
        and all(isinstance(part, str | int) and not isinstance(part, bool) for part in key)
    )
    if not valid:
        raise ValidationError(
            "the cursor is malformed or expired", field="cursor", code="bad_cursor"
        )
    return list(key)
