"""TOTP (RFC 6238) over HOTP (RFC 4226), with replay protection by the last accepted time step."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from dataclasses import dataclass
from urllib.parse import quote, urlencode

PERIOD_SECONDS = 30
DIGITS = 6
SECRET_BYTES = 20  # 160 bits, RFC 4226's recommendation for HMAC-SHA1
_DIGESTS = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}


def generate_secret() -> str:
    """A new shared secret, base32 without padding (what authenticator apps expect)."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode().rstrip("=")


def decode_secret(secret_b32: str) -> bytes:
    padded = secret_b32.upper() + "=" * (-len(secret_b32) % 8)
    return base64.b32decode(padded)


def time_step(unix_seconds: float, period: int = PERIOD_SECONDS) -> int:
    return int(unix_seconds // period)


def hotp(key: bytes, counter: int, digits: int = DIGITS, algorithm: str = "SHA1") -> str:
    mac = hmac.new(key, struct.pack(">Q", counter), _DIGESTS[algorithm]).digest()
    offset = mac[-1] & 0x0F
    (truncated,) = struct.unpack(">I", mac[offset : offset + 4])
    return str((truncated & 0x7FFFFFFF) % 10**digits).zfill(digits)


@dataclass(frozen=True, slots=True)
class TotpCheck:
    """Accepts codes from the current step and `drift_steps` either side (clock skew)."""

    drift_steps: int = 1
    digits: int = DIGITS

    def matching_step(
        self, key: bytes, code: str, unix_seconds: float, last_used_step: int | None
    ) -> int | None:
        """The time step the code belongs to, or None when wrong or already used.

        A step at or before `last_used_step` is refused even with the right code: each code is
        good once, and an older code can never be used after a newer one.
        """
        if len(code) != self.digits or not (code.isascii() and code.isdigit()):
            return None
        now_step = time_step(unix_seconds)
        found: int | None = None
        for step in range(now_step - self.drift_steps, now_step + self.drift_steps + 1):
            if hmac.compare_digest(hotp(key, step, self.digits), code):
                found = step
        if found is None or (last_used_step is not None and found <= last_used_step):
            return None
        return found


def provisioning_uri(secret_b32: str, *, account: str, issuer: str) -> str:
    label = quote(f"{issuer}:{account}", safe=":@")
    query = urlencode(
        {
            "secret": secret_b32,
            "issuer": issuer,
            "algorithm": "SHA1",
            "digits": DIGITS,
            "period": PERIOD_SECONDS,
        }
    )
    return f"otpauth://totp/{label}?{query}"
