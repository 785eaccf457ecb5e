"""Test signers of provider webhooks: an SNS signing certificate made here (RSA, self-signed)
that signs messages exactly as SNS does, and a SendGrid ECDSA P-256 key pair."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from openmailer.adapters.webhooks.sns import string_to_sign

REGION = "eu-west-1"
TOPIC_ARN = f"arn:aws:sns:{REGION}:123456789012:ses-events"
CERT_PATH = "/SimpleNotificationService-0000000000000000000000.pem"
CERT_URL = f"https://sns.{REGION}.amazonaws.com{CERT_PATH}"


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _self_signed(key: rsa.RSAPrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"sns.{REGION}.amazonaws.com")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


@dataclass
class SnsSigner:
    key: rsa.RSAPrivateKey = field(default_factory=_key)
    cert_url: str = CERT_URL

    @property
    def certificate_pem(self) -> bytes:
        return _self_signed(self.key)

    def sign(self, envelope: dict[str, Any], version: str = "2") -> dict[str, Any]:
        signed = {**envelope, "SignatureVersion": version, "SigningCertURL": self.cert_url}
        algorithm = hashes.SHA256() if version == "2" else hashes.SHA1()
        signature = self.key.sign(string_to_sign(signed), padding.PKCS1v15(), algorithm)
        signed["Signature"] = base64.b64encode(signature).decode()
        return signed

    def notification(
        self,
        ses: dict[str, Any],
        *,
        at: datetime | None = None,
        message_id: str | None = None,
        version: str = "2",
        topic: str = TOPIC_ARN,
    ) -> bytes:
        envelope = {
            "Type": "Notification",
            "MessageId": message_id or str(uuid.uuid4()),
            "TopicArn": topic,
            "Message": json.dumps(ses),
            "Timestamp": _iso(at or datetime.now(UTC)),
            "UnsubscribeURL": f"https://sns.{REGION}.amazonaws.com/?Action=Unsubscribe",
        }
        return json.dumps(self.sign(envelope, version)).encode()

    def subscription(self, subscribe_url: str, *, at: datetime | None = None) -> bytes:
        envelope = {
            "Type": "SubscriptionConfirmation",
            "MessageId": str(uuid.uuid4()),
            "Token": "2336412f37fb687f5d51e6e2425c464de12884a7",
            "TopicArn": TOPIC_ARN,
            "Message": f"You have chosen to subscribe to the topic {TOPIC_ARN}.",
            "SubscribeURL": subscribe_url,
            "Timestamp": _iso(at or datetime.now(UTC)),
        }
        return json.dumps(self.sign(envelope)).encode()


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def ses_bounce(message_id: str, recipients: list[str], *, permanent: bool = True) -> dict[str, Any]:
    return {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": "Permanent" if permanent else "Transient",
            "bounceSubType": "General",
            "bouncedRecipients": [
                {
                    "emailAddress": address,
                    "action": "failed",
                    "status": "5.1.1" if permanent else "4.2.2",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                }
                for address in recipients
            ],
            "timestamp": _iso(datetime.now(UTC)),
            "feedbackId": "0102-bounce",
        },
        "mail": {"messageId": message_id, "timestamp": _iso(datetime.now(UTC))},
    }


def ses_complaint(message_id: str, recipients: list[str]) -> dict[str, Any]:
    return {
        "notificationType": "Complaint",
        "complaint": {
            "complainedRecipients": [{"emailAddress": address} for address in recipients],
            "complaintFeedbackType": "abuse",
            "timestamp": _iso(datetime.now(UTC)),
            "feedbackId": "0102-complaint",
        },
        "mail": {"messageId": message_id, "timestamp": _iso(datetime.now(UTC))},
    }


def ses_delivery(message_id: str, recipients: list[str]) -> dict[str, Any]:
    return {
        "notificationType": "Delivery",
        "delivery": {
            "timestamp": _iso(datetime.now(UTC)),
            "recipients": recipients,
            "smtpResponse": "250 2.6.0 Message received",
        },
        "mail": {"messageId": message_id, "timestamp": _iso(datetime.now(UTC))},
    }


@dataclass
class SendgridSigner:
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )

    @property
    def public_key(self) -> str:
        der = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(der).decode()

    def headers(self, body: bytes, *, at: datetime | None = None) -> dict[str, str]:
        timestamp = str(int((at or datetime.now(UTC)).timestamp()))
        signature = self.key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return {
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
            "Content-Type": "application/json",
        }


def sendgrid_event(
    event: str, email: str, x_message_id: str, *, event_id: str | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "email": email,
        "event": event,
        "sg_event_id": event_id or uuid.uuid4().hex,
        "sg_message_id": f"{x_message_id}.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0",
        "timestamp": int(datetime.now(UTC).timestamp()),
        **extra,
    }
