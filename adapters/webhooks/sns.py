"""`SnsVerifier`: Amazon SNS messages (SES notifications) verified as AWS documents it.

The string to sign is `Key\\nValue\\n` for each key present, in this order: Notification —
Message, MessageId, Subject, Timestamp, TopicArn, Type; SubscriptionConfirmation and
UnsubscribeConfirmation — Message, MessageId, SubscribeURL, Timestamp, Token, TopicArn, Type.
SignatureVersion 1 is RSA PKCS#1 v1.5 with SHA-1, 2 with SHA-256. The certificate comes only from
an `https://sns.<region>.amazonaws.com/...pem` address (`.amazonaws.com.cn` in China): any other
SigningCertURL is refused and never fetched; fetched certificates are cached per URL. The same
address check applies to a SubscribeURL before it is confirmed.

`endpoint_override` (OPENMAILER_SNS_ENDPOINT_OVERRIDE, for tests only): after the checks above
passed on the real URL, its request goes to this base URL instead (same path and query), so a
loopback server can play SNS without anything leaving the machine.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from openmailer.core.errors import Conflict, Forbidden
from openmailer.core.events.formats import malformed

SNS_HOST = re.compile(r"^sns\.[a-zA-Z0-9\-]{3,}\.amazonaws\.com(\.cn)?$")
NOTIFICATION_KEYS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
CONFIRMATION_KEYS = (
    "Message",
    "MessageId",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
)
CONFIRMATION_TYPES = frozenset({"SubscriptionConfirmation", "UnsubscribeConfirmation"})
KNOWN_TYPES = CONFIRMATION_TYPES | {"Notification"}
HASHES: dict[str, type[hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}
MAX_CERTIFICATE_BYTES = 64 * 1024
CACHED_CERTIFICATES = 32
FETCH_TIMEOUT_SECONDS = 5.0


class SubscriptionNotConfirmed(Conflict):
    code = "subscription_not_confirmed"


def invalid_signature(detail: str) -> Forbidden:
    return Forbidden(detail, code="invalid_signature")


def string_to_sign(envelope: Mapping[str, Any]) -> bytes:
    keys = CONFIRMATION_KEYS if envelope.get("Type") in CONFIRMATION_TYPES else NOTIFICATION_KEYS
    parts = []
    for key in keys:
        value = envelope.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise malformed(f"the SNS {key} is not a string")
        parts.append(f"{key}\n{value}\n")
    return "".join(parts).encode()


def is_sns_address(url: object) -> bool:
    """An https URL on an SNS host (no credentials, no port); a certificate's ends in .pem."""
    if not isinstance(url, str):
        return False
    parts = urlsplit(url)
    return (
        parts.scheme == "https"
        and parts.hostname is not None
        and SNS_HOST.fullmatch(parts.hostname) is not None
        and parts.username is None
        and parts.port is None
        and parts.netloc == parts.hostname
    )


def is_certificate_address(url: object) -> bool:
    return is_sns_address(url) and urlsplit(str(url)).path.endswith(".pem")


class SnsVerifier:
    def __init__(self, endpoint_override: str | None = None) -> None:
        self._override = endpoint_override.rstrip("/") if endpoint_override else None
        self._certificates: OrderedDict[str, rsa.RSAPublicKey] = OrderedDict()
        self._lock = asyncio.Lock()

    def _target(self, url: str) -> str:
        if self._override is None:
            return url
        parts = urlsplit(url)
        return self._override + parts.path + (f"?{parts.query}" if parts.query else "")

    async def verify(self, body: bytes) -> dict[str, Any]:
        try:
            envelope = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise malformed("the body is not JSON") from None
        if not isinstance(envelope, dict) or envelope.get("Type") not in KNOWN_TYPES:
            raise malformed("the body is not an SNS message")
        hash_type = HASHES.get(str(envelope.get("SignatureVersion")))
        if hash_type is None:
            raise invalid_signature("SignatureVersion must be 1 or 2")
        url = envelope.get("SigningCertURL")
        if not is_certificate_address(url):
            raise invalid_signature(
                "SigningCertURL must be an https://sns.<region>.amazonaws.com/....pem address"
            )
        try:
            signature = base64.b64decode(str(envelope.get("Signature", "")), validate=True)
        except (binascii.Error, ValueError):
            raise invalid_signature("the Signature is not base64") from None
        key = await self._certificate(str(url))
        try:
            key.verify(signature, string_to_sign(envelope), padding.PKCS1v15(), hash_type())
        except InvalidSignature:
            raise invalid_signature("the signature does not match the message") from None
        return envelope

    async def confirm(self, envelope: Mapping[str, Any]) -> None:
        url = envelope.get("SubscribeURL")
        if not is_sns_address(url):
            raise invalid_signature(
                "SubscribeURL must be an https://sns.<region>.amazonaws.com address"
            )
        try:
            async with httpx.AsyncClient(timeout=FETCH_TIMEOUT_SECONDS) as client:
                response = await client.get(self._target(str(url)))
        except httpx.HTTPError as error:
            raise SubscriptionNotConfirmed(f"SNS could not be reached: {error}") from None
        if response.status_code != 200:
            raise SubscriptionNotConfirmed(
                f"SNS answered {response.status_code} to the confirmation"
            )

    async def _certificate(self, url: str) -> rsa.RSAPublicKey:
        async with self._lock:
            cached = self._certificates.get(url)
            if cached is not None:
                self._certificates.move_to_end(url)
                return cached
        key = await self._fetch(url)
        async with self._lock:
            self._certificates[url] = key
            while len(self._certificates) > CACHED_CERTIFICATES:
                self._certificates.popitem(last=False)
        return key

    async def _fetch(self, url: str) -> rsa.RSAPublicKey:
        try:
            async with (
                httpx.AsyncClient(timeout=FETCH_TIMEOUT_SECONDS) as client,
                client.stream("GET", self._target(url)) as response,
            ):
                if response.status_code != 200:
                    raise invalid_signature(
                        f"the signing certificate answered {response.status_code}"
                    )
                data = b""
                async for chunk in response.aiter_bytes():
                    data += chunk
                    if len(data) > MAX_CERTIFICATE_BYTES:
                        raise invalid_signature("the signing certificate is too large")
        except httpx.HTTPError as error:
            raise invalid_signature(
                f"the signing certificate could not be fetched: {error}"
            ) from None
        try:
            key = x509.load_pem_x509_certificate(data).public_key()
        except ValueError:
            raise invalid_signature("the signing certificate is not a PEM certificate") from None
        if not isinstance(key, rsa.RSAPublicKey):
            raise invalid_signature("the signing certificate's key is not RSA")
        return key
