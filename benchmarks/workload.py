"""The send-core benchmark workload: a ~20 KB HTML template with 3 variables and 15 links."""

from __future__ import annotations

import subprocess

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from openmailer.core.ports.rendering import CampaignContent

DOMAIN = "acme.example"
BASE_URL = "https://mail.acme.example"
SECRET = b"benchmark-tracking-secret-0123456789"
SUBJECT = "Your weekly deals, {{ first_name | default: 'friend' }}"
LINKS = 15

_PARAGRAPH = (
    '<p style="margin:0 0 12px 0;font-family:Helvetica,Arial,sans-serif;font-size:15px;'
    'line-height:22px;color:#333333;">Lorem ipsum dolor sit amet, consectetur adipiscing elit, '
    "sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, "
    "quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat.</p>\n"
)


def html_template(var: str = "{{ %s }}") -> str:
    """The template; `var` formats a variable reference (ours or jinja2's syntax)."""
    first = var % "first_name | default: 'there'"
    city = var % "custom.city"
    unsubscribe = var % "unsubscribe_url"
    parts = [
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Weekly deals</title>\n'
        "<style>body{margin:0;padding:0}table{border-collapse:collapse}</style></head>\n<body>\n"
        '<table width="100%" cellpadding="0" cellspacing="0"><tr><td align="center">\n'
        f"<h1>Hello {first}!</h1>\n<p>Deals near {city} this week.</p>\n"
    ]
    for i in range(LINKS):
        parts.append(
            f'<table width="600"><tr><td><h2>Offer {i + 1}</h2>\n{_PARAGRAPH}'
            f'<a href="https://shop.acme.example/products/{i}?utm_source=mail&amp;utm_campaign=w'
            f'eekly" style="color:#0066cc;">See offer {i + 1}</a></td></tr></table>\n'
        )
        parts.append(_PARAGRAPH)
    parts.append(
        f'<p><a href="{unsubscribe}">Unsubscribe</a></p>\n</td></tr></table>\n</body></html>\n'
    )
    return "".join(parts)


def campaign_content() -> CampaignContent:
    """The benchmarks' campaign: the 20 KB template with its 15 links, tracked."""
    return CampaignContent(
        campaign_id="bench",
        subject=SUBJECT,
        html=html_template(),
        from_email=f"news@{DOMAIN}",
        from_name="Acme News",
        list_id=f"news.{DOMAIN}",
        base_url=BASE_URL,
        tracking_secret=SECRET,
        preview_text="This week's deals",
    )


def recipients_data(n: int) -> list[dict[str, object]]:
    return [
        {
            "tracking_id": f"r{i:07d}",
            "email": f"user{i}@example.com",
            "first_name": f"Name{i}",
            "custom": {"city": "Brisbane"},
            "unsubscribe_token": f"u{i:07d}x",
        }
        for i in range(n)
    ]


def rsa_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def ed25519_pem() -> str:
    key = ed25519.Ed25519PrivateKey.generate()
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def openssl_rsa2048_sign_rate(seconds: int) -> float:
    """`openssl speed rsa2048` signs per second on one core (machine-readable output)."""
    out = subprocess.run(
        ["openssl", "speed", "-mr", "-seconds", str(seconds), "rsa2048"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for line in out.splitlines():
        if line.startswith("+F2:"):
            return float(line.split(":")[3])
    raise RuntimeError(f"no +F2 line in openssl speed output:\n{out}")
