"""Keys, templates, recipients and offline DKIM verification shared by the sender_rs tests."""

from __future__ import annotations

import email
import email.message
import email.policy
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

import sender_rs
from openmailer.core.ports.rendering import CampaignContent

DOMAIN = "acme.example"
SECRET = b"campaign-tracking-secret-0123456789"
BASE_URL = "https://mail.acme.example"
TIMESTAMP = 1_764_000_000

HTML = """<!doctype html>
<html><head><title>News</title><style>p { color: #333; }</style></head>
<body>
<h1>Hello {{ first_name | default: "there" }}!</h1>
<p>Your city: {{ custom.address.city | default: "unknown" }}. Plan: {{custom.plan}}.</p>
<p><a href="https://shop.acme.example/sale?utm=mail&amp;x=1">Shop the sale</a></p>
<p><a href="https://blog.acme.example/post" data-track="false">Read the blog</a></p>
<p><a href="mailto:help@acme.example">Mail us</a> <a href="tel:+15550100">Call</a>
<a href="#top">Top</a></p>
<p><a href="{{unsubscribe_url}}">Unsubscribe</a> | <a href="{{preferences_url}}">Preferences</a></p>
</body></html>
"""


def pem_rsa(bits: int = 2048) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def pem_ed25519(seed: bytes | None = None) -> str:
    key = (
        ed25519.Ed25519PrivateKey.from_private_bytes(seed)
        if seed
        else ed25519.Ed25519PrivateKey.generate()
    )
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@dataclass(frozen=True)
class Keys:
    rsa: sender_rs.SigningKey
    ed25519: sender_rs.SigningKey

    def dns(self) -> dict[bytes, bytes]:
        return {
            f"{k.selector}._domainkey.{k.domain}.".encode(): k.dns_txt().encode()
            for k in (self.rsa, self.ed25519)
        }


def dnsfunc(records: dict[bytes, bytes]) -> Callable[..., bytes | None]:
    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        return records.get(name)

    return lookup


def verify(message: bytes, records: dict[bytes, bytes], idx: int = 0) -> bool:
    """dkimpy verification of signature `idx`; a body-hash mismatch counts as a failure."""
    try:
        return bool(dkim.DKIM(message).verify(idx=idx, dnsfunc=dnsfunc(records)))
    except dkim.ValidationError:
        return False


def write_opendkim_conf(keys: Keys, directory: Path) -> Path:
    """An OpenDKIM verifier configuration that knows `keys`' public records, no DNS."""
    records = directory / "keys"
    records.write_text(
        "".join(
            f"{k.selector}._domainkey.{k.domain} {k.dns_txt()}\n" for k in (keys.rsa, keys.ed25519)
        )
    )
    conf = directory / "opendkim.conf"
    conf.write_text(f"Mode v\nSyslog no\nTestPublicKeys {records}\n")
    return conf


def opendkim_verdict(conf: Path, message: bytes, tmp: Path) -> str:
    path = tmp / "msg.eml"
    path.write_bytes(message)
    # The exit code is 0 either way: the verdict is in the output (one signature per message).
    run = subprocess.run(
        ["opendkim", "-x", str(conf), "-t", str(path)], capture_output=True, text=True, check=False
    )
    return run.stdout + run.stderr


def compile_default(**overrides: Any) -> sender_rs.CompiledTemplate:
    args: dict[str, Any] = {
        "campaign_id": "cmp-1",
        "subject": "Hi {{ first_name | default: 'friend' }}, news from Acme",
        "html": HTML,
        "from_email": f"news@{DOMAIN}",
        "from_name": "Acme News",
        "list_id": f"news.{DOMAIN}",
        "list_name": "Acme newsletter",
        "base_url": BASE_URL,
        "tracking_secret": SECRET,
        "preview_text": "This week's deals",
        "reply_to": f"support@{DOMAIN}",
        "unsubscribe_mailto": f"unsubscribe@{DOMAIN}",
    }
    args.update(overrides)
    return sender_rs.compile_template(CampaignContent(**args))


def recipient(n: int = 1, **overrides: Any) -> sender_rs.Recipient:
    args: dict[str, Any] = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "custom": {"address": {"city": "London"}, "plan": "pro"},
        "unsubscribe_token": f"unsub-{n}",
    }
    args.update(overrides)
    return sender_rs.Recipient(f"rcpt-{n}", f"user{n}@example.com", **args)


def parse(message: bytes) -> email.message.EmailMessage:
    parsed = email.message_from_bytes(message, policy=email.policy.default)
    assert isinstance(parsed, email.message.EmailMessage)
    return parsed


def body_text(msg: email.message.EmailMessage, subtype: str) -> str:
    part = msg.get_body((subtype,))
    assert part is not None
    content = part.get_content()
    assert isinstance(content, str)
    return content
