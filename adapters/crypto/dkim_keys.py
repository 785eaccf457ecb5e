"""`CryptographyDkimKeyGenerator`: DKIM keys made with `cryptography`, as PKCS#8 PEM.

Public keys are given as a DKIM `p=` tag carries them: base64 of the DER SubjectPublicKeyInfo
for RSA (RFC 6376 3.6.1), base64 of the 32 raw bytes for Ed25519 (RFC 8463 4.2).
"""

from __future__ import annotations

import asyncio
import base64

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from openmailer.core.ports.domains import GeneratedKey

RSA_BITS = 2048
RSA_PUBLIC_EXPONENT = 65537


def _private_pem(key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def generate_rsa() -> GeneratedKey:
    key = rsa.generate_private_key(public_exponent=RSA_PUBLIC_EXPONENT, key_size=RSA_BITS)
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return GeneratedKey(_private_pem(key), base64.b64encode(der).decode())


def generate_ed25519() -> GeneratedKey:
    key = ed25519.Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return GeneratedKey(_private_pem(key), base64.b64encode(raw).decode())


class CryptographyDkimKeyGenerator:
    async def rsa(self) -> GeneratedKey:
        # Finding the primes takes tens to hundreds of milliseconds: not on the event loop.
        return await asyncio.to_thread(generate_rsa)

    async def ed25519(self) -> GeneratedKey:
        return generate_ed25519()
