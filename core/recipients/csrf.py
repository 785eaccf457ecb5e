"""CSRF tokens of the recipient pages' own forms: a double-submit nonce, signed.

The page sets a random nonce in a SameSite=Strict, HttpOnly cookie and puts
`{nonce}.{issued}.{MAC}` in the form, the MAC over (the page's path, nonce, issued) under the
installation's key. A POST is taken when the form's token is authentic for that path, not older
than `MAX_AGE_SECONDS`, and its nonce equals the cookie's: another site can neither read the
cookie nor make a token for it, and a token lifted from one page does not work on another.

The RFC 8058 one-click POST carries no cookie and no page: it is told apart by its body and
needs no token (the unguessable URL is its authority).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

MAX_AGE_SECONDS = 6 * 3600
NONCE_BYTES = 16
_PURPOSE = b"csrf\0"


def new_nonce() -> str:
    return secrets.token_urlsafe(NONCE_BYTES)


def _mac(key: bytes, path: str, nonce: str, issued: int) -> str:
    message = _PURPOSE + f"{path}\0{nonce}\0{issued}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def issue(key: bytes, path: str, nonce: str, *, now: int) -> str:
    return f"{nonce}.{now}.{_mac(key, path, nonce, now)}"


def verify(key: bytes, path: str, token: str, cookie_nonce: str | None, *, now: int) -> bool:
    """Never raises: any malformed part is simply not authentic."""
    nonce, _, rest = token.partition(".")
    issued_text, _, mac = rest.partition(".")
    if not (nonce and mac and cookie_nonce and issued_text.isascii() and issued_text.isdigit()):
        return False
    if len(issued_text) > 12 or len(token) > 200:
        return False
    issued = int(issued_text)
    if not 0 <= now - issued <= MAX_AGE_SECONDS:
        return False
    expected = _mac(key, path, nonce, issued)
    return hmac.compare_digest(expected.encode(), mac.encode()) and hmac.compare_digest(
        nonce.encode(), cookie_nonce.encode()
    )
