"""AES-256-GCM secret box for secrets at rest (TOTP secrets, DKIM keys, provider credentials).

Format: `v1:<key id>:<urlsafe base64 of 12-byte nonce + ciphertext + tag>`. The associated data is
`<table>:<column>:<row id>`, so a ciphertext copied to another row or column fails to open. The key
id travels with the ciphertext; an id that is not configured fails closed (SecretUnavailable).
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from openmailer.adapters.settings import SecretKey
from openmailer.core.errors import SecretUnavailable

VERSION = "v1"
NONCE_BYTES = 12


class AesGcmSecretBox:
    def __init__(self, keys: tuple[SecretKey, ...]) -> None:
        self._ciphers = {key.key_id: AESGCM(key.key) for key in keys}
        self._current = keys[-1].key_id if keys else None

    @property
    def current_key_id(self) -> str | None:
        return self._current

    def seal(self, plaintext: bytes, *, table: str, column: str, row_id: int) -> str:
        if self._current is None:
            raise SecretUnavailable(
                "no encryption key configured: set OPENMAILER_SECRET_KEYS", code="no_secret_key"
            )
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self._current].encrypt(
            nonce, plaintext, _associated_data(table, column, row_id)
        )
        payload = base64.urlsafe_b64encode(nonce + sealed).decode()
        return f"{VERSION}:{self._current}:{payload}"

    def open(self, sealed: str, *, table: str, column: str, row_id: int) -> bytes:
        version, key_id, payload = _split(sealed)
        cipher = self._ciphers.get(key_id)
        if version != VERSION or cipher is None:
            raise SecretUnavailable(
                f"secret in {table}.{column} (row {row_id}) is sealed with key {key_id!r}, "
                "which is not configured in OPENMAILER_SECRET_KEYS"
            )
        try:
            raw = base64.urlsafe_b64decode(payload)
            return cipher.decrypt(
                raw[:NONCE_BYTES], raw[NONCE_BYTES:], _associated_data(table, column, row_id)
            )
        except (InvalidTag, binascii.Error, ValueError):
            raise SecretUnavailable(
                f"secret in {table}.{column} (row {row_id}) does not verify: "
                "wrong key, tampered, or moved from another row"
            ) from None

    def needs_rotation(self, sealed: str) -> bool:
        return _split(sealed)[1] != self._current


def _split(sealed: str) -> tuple[str, str, str]:
    version, _, rest = sealed.partition(":")
    key_id, _, payload = rest.partition(":")
    return version, key_id, payload


def _associated_data(table: str, column: str, row_id: int) -> bytes:
    return f"{table}:{column}:{row_id}".encode()
