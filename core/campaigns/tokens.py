"""The unsubscribe and preferences tokens written into campaign mail.

A token is the campaign recipient's tracking id and a MAC over it under the installation's
tracking key (the key `sender_rs` signs opens and clicks with), one purpose byte apart, so
neither kind of token can be turned into the other or into a click or open token:

    {tracking_id}.{base64url(HMAC-SHA256(key, purpose "\\0" tracking_id))[:22]}

The tracking id names the recipient row, hence the contact and the campaign (for the
campaign's unsubscribe count); 22 base64 characters keep 132 bits of the MAC.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from enum import Enum

MAC_CHARS = 22
_TRACKING_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class TokenPurpose(Enum):
    UNSUBSCRIBE = b"u"
    PREFERENCES = b"p"


def _mac(key: bytes, purpose: TokenPurpose, tracking_id: str) -> str:
    digest = hmac.new(key, purpose.value + b"\0" + tracking_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:MAC_CHARS]


def issue_token(key: bytes, purpose: TokenPurpose, tracking_id: str) -> str:
    if not _TRACKING_ID.fullmatch(tracking_id):
        raise ValueError(f"not a tracking id: {tracking_id!r}")
    return f"{tracking_id}.{_mac(key, purpose, tracking_id)}"


def read_token(key: bytes, purpose: TokenPurpose, token: str) -> str | None:
    """The tracking id when `token` is authentic for `purpose`, else None (never raises)."""
    tracking_id, dot, mac = token.partition(".")
    if (
        not dot
        or len(mac) != MAC_CHARS
        or not mac.isascii()
        or not _TRACKING_ID.fullmatch(tracking_id)
    ):
        return None
    expected = _mac(key, purpose, tracking_id)
    return tracking_id if hmac.compare_digest(expected, mac) else None
