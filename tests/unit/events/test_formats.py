"""The providers' event formats: what is stored from a verified request, and what a stored
event says of each recipient."""

from __future__ import annotations

import json

import pytest

from openmailer.core.errors import ValidationError
from openmailer.core.events.formats import (
    recipient_events,
    sendgrid_message_id,
    sendgrid_stored_events,
    ses_stored_events,
)
from openmailer.core.events.model import BounceKind, EventKind
from tests.webhook_signing import (
    TOPIC_ARN,
    sendgrid_event,
    ses_bounce,
    ses_complaint,
    ses_delivery,
)

pytestmark = pytest.mark.unit


def envelope(ses: dict[str, object], message_id: str = "sns-1") -> dict[str, object]:
    return {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": TOPIC_ARN,
        "Message": json.dumps(ses),
        "Timestamp": "2026-12-02T04:00:00.000Z",
    }


def test_an_ses_bounce_is_stored_once_and_names_each_bounced_recipient() -> None:
    stored, ignored = ses_stored_events(envelope(ses_bounce("ses-9", ["a@x.org", "b@x.org"])))
    assert ignored == 0
    assert [(s.kind, s.provider_event_id) for s in stored] == [(EventKind.BOUNCED, "sns-1")]
    events = recipient_events(stored[0].payload)
    assert [(e.recipient, e.message_id, e.bounce) for e in events] == [
        ("a@x.org", "ses-9", BounceKind.HARD),
        ("b@x.org", "ses-9", BounceKind.HARD),
    ]
    soft = recipient_events(envelope(ses_bounce("ses-9", ["a@x.org"], permanent=False)))
    assert soft[0].bounce is BounceKind.SOFT


def test_ses_complaints_and_deliveries_and_an_ignored_kind() -> None:
    complaint = recipient_events(envelope(ses_complaint("ses-1", ["c@x.org"])))
    assert [(e.kind, e.recipient) for e in complaint] == [(EventKind.COMPLAINED, "c@x.org")]
    delivery = recipient_events(envelope(ses_delivery("ses-2", ["d@x.org"])))
    assert [(e.kind, e.recipient) for e in delivery] == [(EventKind.DELIVERED, "d@x.org")]
    stored, ignored = ses_stored_events(envelope({"eventType": "Open", "mail": {}}))
    assert (stored, ignored) == ([], 1)


def test_an_sns_message_that_is_not_an_ses_notification_is_malformed() -> None:
    with pytest.raises(ValidationError) as raised:
        ses_stored_events({**envelope({}), "Message": "not json"})
    assert raised.value.code == "malformed_event"


def test_a_sendgrid_batch_keeps_known_kinds_once_and_maps_the_message_id() -> None:
    bounce = sendgrid_event("bounce", "a@x.org", "XMSG", event_id="e1", status="5.0.0")
    blocked = sendgrid_event("bounce", "b@x.org", "XMSG", event_id="e2", type="blocked")
    batch = [
        bounce,
        blocked,
        bounce,  # the same event twice in one batch
        sendgrid_event("processed", "a@x.org", "XMSG"),
        sendgrid_event("spamreport", "c@x.org", "XMSG", event_id="e3"),
        "not an event",
    ]
    stored, ignored = sendgrid_stored_events(batch)
    assert [s.provider_event_id for s in stored] == ["e1", "e2", "e3"]
    assert ignored == 3
    events = [recipient_events(s.payload)[0] for s in stored]
    assert [(e.kind, e.bounce, e.message_id) for e in events] == [
        (EventKind.BOUNCED, BounceKind.HARD, "XMSG"),
        (EventKind.BOUNCED, BounceKind.SOFT, "XMSG"),
        (EventKind.COMPLAINED, None, "XMSG"),
    ]


def test_a_sendgrid_event_without_its_id_is_keyed_by_its_content() -> None:
    event = sendgrid_event("delivered", "a@x.org", "XMSG")
    del event["sg_event_id"]
    first, _ = sendgrid_stored_events([event])
    again, _ = sendgrid_stored_events([dict(event)])
    assert first[0].provider_event_id.startswith("sha256:")
    assert first[0].provider_event_id == again[0].provider_event_id


def test_a_sendgrid_body_must_be_an_array() -> None:
    with pytest.raises(ValidationError):
        sendgrid_stored_events({"event": "delivered"})


def test_the_sendgrid_message_id_is_the_part_before_the_filter_suffix() -> None:
    assert (
        sendgrid_message_id("LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5F")
        == "LRzXl_NHStOGhQ4kofSm_A"
    )
