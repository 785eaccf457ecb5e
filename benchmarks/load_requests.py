"""What the load suite sends (`benchmarks/locustfile.py`), built apart from locust so that a test
can hand each request to the API's own checks (tests/integration/benchmarks_load/).

The targets file (JSON, `LOAD_TARGETS`) names what the users may touch; a section left out turns
its user class off. `benchmarks.load` writes it for the platform it starts; for `--host` the
tester writes it (docs/load-testing.md):

    {"api": {"key": "om_live_…", "list_id": 1, "segment_id": 1, "contact_domain": "…"},
     "messages": {"test_key": "om_test_…", "from_email": "…", "to_domain": "…"},
     "recipients": {"pixel": ["/t/o/….gif"], "click": ["/t/c/…"], "unsubscribe": ["/u/…"]},
     "ses": {"webhook_path": "/webhooks/…", "private_key_pem": "…", "cert_url": "https://sns.…pem",
             "topic_arn": "arn:aws:sns:…", "deliveries": [["message id", "address"]]},
     "sendgrid": {"webhook_path": "/webhooks/…", "private_key_pem": "…",
                  "deliveries": [["X-Message-Id", "address"]]}}
"""

from __future__ import annotations

import json
import os
import random
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from tests.webhook_signing import SendgridSigner, SnsSigner, sendgrid_event, ses_delivery

TEST_KEY_PREFIX = "om_test_"
# The user classes' weights unless LOAD_WEIGHT_<CLASS> says otherwise: of every 10 users, 3 API
# clients, 5 recipients, 2 providers.
DEFAULT_WEIGHTS = {"API": 3, "RECIPIENT": 5, "PROVIDER": 2}
# SendGrid posts its events in batches; a few per post is what a small sender sees.
SENDGRID_EVENTS_PER_POST = 5
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"
ONE_CLICK_BODY = b"List-Unsubscribe=One-Click"
FORM = "application/x-www-form-urlencoded"

Delivery = tuple[str, str]  # the provider's message id, the recipient's address


class TargetsError(ValueError):
    """The targets file is unusable; the message names the field and what is wrong."""


@dataclass(frozen=True)
class ApiTargets:
    key: str
    list_id: int
    segment_id: int
    contact_domain: str


@dataclass(frozen=True)
class MessageTargets:
    test_key: str
    from_email: str
    to_domain: str


@dataclass(frozen=True)
class RecipientTargets:
    pixel: tuple[str, ...]
    click: tuple[str, ...]
    unsubscribe: tuple[str, ...]


@dataclass(frozen=True)
class SesTargets:
    webhook_path: str
    signer: SnsSigner
    topic_arn: str
    deliveries: tuple[Delivery, ...]


@dataclass(frozen=True)
class SendgridTargets:
    webhook_path: str
    signer: SendgridSigner
    deliveries: tuple[Delivery, ...]


@dataclass(frozen=True)
class Targets:
    api: ApiTargets | None = None
    messages: MessageTargets | None = None
    recipients: RecipientTargets | None = None
    ses: SesTargets | None = None
    sendgrid: SendgridTargets | None = None


def load_targets(path: Path) -> Targets:
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise TargetsError(f"{path}: not a readable JSON file ({error})") from None
    if not isinstance(raw, dict):
        raise TargetsError(f"{path}: must hold a JSON object")
    return parse_targets(raw)


def parse_targets(raw: dict[str, Any]) -> Targets:
    unknown = set(raw) - {"api", "messages", "recipients", "ses", "sendgrid"}
    if unknown:
        raise TargetsError(f"unknown sections: {', '.join(sorted(unknown))}")
    return Targets(
        api=_api(raw["api"]) if "api" in raw else None,
        messages=_messages(raw["messages"]) if "messages" in raw else None,
        recipients=_recipients(raw["recipients"]) if "recipients" in raw else None,
        ses=_ses(raw["ses"]) if "ses" in raw else None,
        sendgrid=_sendgrid(raw["sendgrid"]) if "sendgrid" in raw else None,
    )


def _field(section: str, raw: object, name: str, kind: type) -> Any:
    if not isinstance(raw, dict) or name not in raw:
        raise TargetsError(f"{section}.{name}: missing")
    value = raw[name]
    if not isinstance(value, kind) or isinstance(value, bool) or value in ("", []):
        raise TargetsError(f"{section}.{name}: must be a non-empty {kind.__name__}")
    return value


def _api(raw: object) -> ApiTargets:
    return ApiTargets(
        key=_field("api", raw, "key", str),
        list_id=_field("api", raw, "list_id", int),
        segment_id=_field("api", raw, "segment_id", int),
        contact_domain=_field("api", raw, "contact_domain", str),
    )


def _messages(raw: object) -> MessageTargets:
    test_key = _field("messages", raw, "test_key", str)
    if not test_key.startswith(TEST_KEY_PREFIX):
        raise TargetsError(
            f"messages.test_key: must be an {TEST_KEY_PREFIX} key, so that the messages go to"
            " the outbox and nothing is sent"
        )
    return MessageTargets(
        test_key=test_key,
        from_email=_field("messages", raw, "from_email", str),
        to_domain=_field("messages", raw, "to_domain", str),
    )


def _paths(section: str, raw: object, name: str, prefix: str) -> tuple[str, ...]:
    paths = _field(section, raw, name, list)
    if not all(isinstance(p, str) and p.startswith(prefix) for p in paths):
        raise TargetsError(f"{section}.{name}: every entry must be a path starting {prefix}")
    return tuple(paths)


def _recipients(raw: object) -> RecipientTargets:
    return RecipientTargets(
        pixel=_paths("recipients", raw, "pixel", "/t/o/"),
        click=_paths("recipients", raw, "click", "/t/c/"),
        unsubscribe=_paths("recipients", raw, "unsubscribe", "/u/"),
    )


def _deliveries(section: str, raw: object) -> tuple[Delivery, ...]:
    pairs = _field(section, raw, "deliveries", list)
    if not all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(v, str) and v for v in p)
        for p in pairs
    ):
        raise TargetsError(f"{section}.deliveries: every entry must be [message id, address]")
    return tuple((message_id, address) for message_id, address in pairs)


def private_key_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    """A signing key as the targets file holds it (PKCS#8 PEM, unencrypted)."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _private_key(section: str, raw: object) -> Any:
    pem = _field(section, raw, "private_key_pem", str)
    try:
        return load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        raise TargetsError(
            f"{section}.private_key_pem: not an unencrypted PEM private key"
        ) from None


def _webhook_path(section: str, raw: object) -> str:
    path: str = _field(section, raw, "webhook_path", str)
    if not path.startswith("/webhooks/"):
        raise TargetsError(f"{section}.webhook_path: the provider's webhook_path, /webhooks/…")
    return path


def _ses(raw: object) -> SesTargets:
    key = _private_key("ses", raw)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TargetsError("ses.private_key_pem: SNS signs with RSA; this key is not RSA")
    return SesTargets(
        webhook_path=_webhook_path("ses", raw),
        signer=SnsSigner(key=key, cert_url=_field("ses", raw, "cert_url", str)),
        topic_arn=_field("ses", raw, "topic_arn", str),
        deliveries=_deliveries("ses", raw),
    )


def _sendgrid(raw: object) -> SendgridTargets:
    key = _private_key("sendgrid", raw)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise TargetsError("sendgrid.private_key_pem: SendGrid signs with ECDSA P-256")
    return SendgridTargets(
        webhook_path=_webhook_path("sendgrid", raw),
        signer=SendgridSigner(key=key),
        deliveries=_deliveries("sendgrid", raw),
    )


# --- the requests ------------------------------------------------------------------------------


def class_weight(name: str) -> int:
    """A user class's weight: `LOAD_WEIGHT_<name>` or the default; 0 turns the class off."""
    raw = os.environ.get(f"LOAD_WEIGHT_{name}", str(DEFAULT_WEIGHTS[name]))
    try:
        value = int(raw)
    except ValueError:
        raise TargetsError(f"LOAD_WEIGHT_{name}: must be a whole number, got {raw!r}") from None
    if value < 0:
        raise TargetsError(f"LOAD_WEIGHT_{name}: must be 0 or more, got {value}")
    return value


def forwarded_for(rng: random.Random) -> str:
    """A client address in 10/8: the per-address limits of the public routes are about floods
    from one address; a campaign's readers and a provider's servers are many (the API must
    trust the load generator's address as a proxy: OPENMAILER_TRUSTED_PROXIES)."""
    return f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def new_contact(targets: ApiTargets) -> dict[str, Any]:
    return {
        "email": f"load-{uuid.uuid4().hex}@{targets.contact_domain}",
        "first_name": "Load",
        "tags": ["load-test"],
        "custom_fields": {"plan": "gold"},
    }


def transactional_message(targets: MessageTargets) -> dict[str, Any]:
    return {
        "from_email": targets.from_email,
        "to": f"load-{uuid.uuid4().hex[:12]}@{targets.to_domain}",
        "subject": "Order {{ custom.order }}",
        "html": "<p>Thanks, {{ custom.name }}: order {{ custom.order }} ships today.</p>",
        "variables": {"name": "Ada", "order": random.randrange(1, 10**6)},
    }


def ses_notification(targets: SesTargets, delivery: Delivery) -> bytes:
    """An SNS Notification carrying an SES Delivery, signed now (new MessageId each time)."""
    message_id, address = delivery
    return targets.signer.notification(ses_delivery(message_id, [address]), topic=targets.topic_arn)


def sendgrid_post(targets: SendgridTargets, rng: random.Random) -> tuple[bytes, dict[str, str]]:
    """A batch of `delivered` events, signed now: the body and the headers to send with it."""
    events = [
        sendgrid_event("delivered", address, message_id)
        for message_id, address in rng.sample(
            targets.deliveries, min(SENDGRID_EVENTS_PER_POST, len(targets.deliveries))
        )
    ]
    body = json.dumps(events).encode()
    return body, targets.signer.headers(body)
