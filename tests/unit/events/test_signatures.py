"""The signature checks: SendGrid's own test vector (sendgrid-python
test/unit/test_eventwebhook.py) and SNS's string to sign and address rules."""

from __future__ import annotations

import json

import pytest

from openmailer.adapters.webhooks.sendgrid_signature import (
    EcdsaSendgridSignatures,
    load_public_key,
)
from openmailer.adapters.webhooks.sns import is_certificate_address, is_sns_address, string_to_sign
from openmailer.core.errors import Forbidden

pytestmark = pytest.mark.unit

# SendGrid's published test vector.
PUBLIC_KEY = (
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe6"
    "2gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g=="
)
SIGNATURE = (
    "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15Tlu"
    "LtEZtM="
)
TIMESTAMP = "1600112502"
PAYLOAD = (
    json.dumps(
        [
            {
                "email": "hello@world.com",
                "event": "dropped",
                "reason": "Bounced Address",
                "sg_event_id": "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA",
                "sg_message_id": (
                    "LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0"
                ),
                "smtp-id": "<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>",
                "timestamp": 1600112492,
            }
        ],
        sort_keys=True,
        separators=(",", ":"),
    )
    + "\r\n"
).encode()
OTHER_KEY = (
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqTxd43gyp8IOEto2LdIfjRQrIbsd4SXZkLW6jDutdhXSJCWHw8REntlo"
    "7aNDthvj+y7GjUuFDb/R1NGe1OPzpA=="
)
OTHER_SIGNATURE = (
    "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH3"
    "j/0="
)


def test_sendgrids_test_vector_verifies() -> None:
    EcdsaSendgridSignatures().verify(
        PAYLOAD, timestamp=TIMESTAMP, signature=SIGNATURE, public_key=PUBLIC_KEY
    )


@pytest.mark.parametrize(
    ("body", "timestamp", "signature", "key"),
    [
        (PAYLOAD, TIMESTAMP, SIGNATURE, OTHER_KEY),
        (b"payload", TIMESTAMP, SIGNATURE, PUBLIC_KEY),
        (PAYLOAD, TIMESTAMP, OTHER_SIGNATURE, PUBLIC_KEY),
        (PAYLOAD, "timestamp", SIGNATURE, PUBLIC_KEY),
        (PAYLOAD.replace(b"\r\n", b""), TIMESTAMP, SIGNATURE, PUBLIC_KEY),  # re-serialised
        (PAYLOAD, TIMESTAMP, "not base64!", PUBLIC_KEY),
    ],
)
def test_sendgrid_refuses_anything_else(
    body: bytes, timestamp: str, signature: str, key: str
) -> None:
    with pytest.raises(Forbidden) as raised:
        EcdsaSendgridSignatures().verify(
            body, timestamp=timestamp, signature=signature, public_key=key
        )
    assert raised.value.code == "invalid_signature"


def test_a_verification_key_must_be_a_p256_spki_key() -> None:
    load_public_key(PUBLIC_KEY)
    for bad in ("", "abc", "bm90IGEga2V5"):
        with pytest.raises(ValueError, match="webhook_verification_key"):
            load_public_key(bad)


def test_the_sns_string_to_sign_takes_the_documented_keys_in_order() -> None:
    notification = {
        "Type": "Notification",
        "MessageId": "m",
        "TopicArn": "t",
        "Message": "hello",
        "Timestamp": "2026-12-02T04:00:00.000Z",
        "UnsubscribeURL": "not signed",
        "SignatureVersion": "2",
    }
    assert string_to_sign(notification) == (
        b"Message\nhello\nMessageId\nm\nTimestamp\n2026-12-02T04:00:00.000Z\nTopicArn\nt\n"
        b"Type\nNotification\n"
    )
    with_subject = {**notification, "Subject": "s"}
    assert b"MessageId\nm\nSubject\ns\nTimestamp" in string_to_sign(with_subject)
    confirmation = {
        **notification,
        "Type": "SubscriptionConfirmation",
        "SubscribeURL": "u",
        "Token": "k",
        "Subject": "not signed in a confirmation",
    }
    assert string_to_sign(confirmation) == (
        b"Message\nhello\nMessageId\nm\nSubscribeURL\nu\nTimestamp\n2026-12-02T04:00:00.000Z\n"
        b"Token\nk\nTopicArn\nt\nType\nSubscriptionConfirmation\n"
    )


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        ("https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem", True),
        ("https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem", True),
        ("http://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem", False),
        ("https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.crt", False),
        ("https://sns.eu-west-1.amazonaws.com.evil.example/cert.pem", False),
        ("https://evil.example/sns.eu-west-1.amazonaws.com/cert.pem", False),
        ("https://sns.eu-west-1.amazonaws.com:8443/cert.pem", False),
        ("https://user@sns.eu-west-1.amazonaws.com/cert.pem", False),
        ("https://sns.x.amazonaws.com/cert.pem", False),  # a region of at least 3 characters
        ("https://s3.amazonaws.com/cert.pem", False),
        (None, False),
    ],
)
def test_only_sns_addresses_are_certificate_addresses(url: str | None, accepted: bool) -> None:
    assert is_certificate_address(url) is accepted


def test_a_subscribe_url_is_an_sns_address_with_any_path() -> None:
    assert is_sns_address(
        "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=abc"
    )
    assert not is_sns_address("https://example.org/?Action=ConfirmSubscription")
