"""`EcdsaSendgridSignatures`: SendGrid's signed Event Webhook.

The signature (header X-Twilio-Email-Event-Webhook-Signature) is base64 DER ECDSA P-256 /
SHA-256 over the timestamp header's value followed by the raw body, exactly as received (a
re-serialised body fails); the provider's verification key is SendGrid's base64 SPKI public key.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key

from openmailer.core.errors import Forbidden


def load_public_key(public_key: str) -> ec.EllipticCurvePublicKey:
    """SendGrid's base64 SPKI key; ValueError when it is not a P-256 public key."""
    try:
        key = load_der_public_key(base64.b64decode(public_key, validate=True))
    except (binascii.Error, ValueError, TypeError):
        raise ValueError("webhook_verification_key: not a base64 SPKI public key") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("webhook_verification_key: not an ECDSA P-256 public key")
    return key


class EcdsaSendgridSignatures:
    def verify(self, body: bytes, *, timestamp: str, signature: str, public_key: str) -> None:
        try:
            key = load_public_key(public_key)
        except ValueError:
            raise Forbidden(
                "the provider's webhook_verification_key is unusable", code="invalid_signature"
            ) from None
        try:
            der = base64.b64decode(signature, validate=True)
            key.verify(der, timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        except (binascii.Error, ValueError, InvalidSignature):
            raise Forbidden(
                "the signature does not match the body", code="invalid_signature"
            ) from None
