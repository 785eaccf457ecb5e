"""The providers' event formats: which events of a verified request are stored, and what a
stored event says of each recipient. Plain JSON values in, core values out; nothing here
trusts a shape it has not checked (a signed request can still be malformed).

SES through SNS: a `Notification` envelope whose `Message` is SES's JSON (`notificationType`,
or `eventType` for configuration-set event publishing): Bounce, Complaint and Delivery are
stored, keyed by the SNS `MessageId`; the message is SES's `mail.messageId`, which is the id
`SendRawEmail` answered (email_logs.provider_message_id). A Permanent bounce is hard; Transient
and Undetermined ones are soft.

SendGrid: a batch (a JSON array) of events, each keyed by `sg_event_id`; delivered, bounce,
spamreport, unsubscribe and group_unsubscribe are stored. `sg_message_id` is the `X-Message-Id`
SendGrid answered at send time followed by `.filter...`: its part before the first dot names
the message (email_logs.provider_message_id). A bounce is hard unless its status is 4.x.x or its
type is `blocked` (SendGrid's own soft class).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from openmailer.core.errors import ValidationError
from openmailer.core.events.model import (
    SENDGRID_SOURCE,
    SES_SOURCE,
    BounceKind,
    EventKind,
    RecipientEvent,
    StoredEvent,
)

SES_KINDS = {
    "Bounce": EventKind.BOUNCED,
    "Complaint": EventKind.COMPLAINED,
    "Delivery": EventKind.DELIVERED,
}
SENDGRID_KINDS = {
    "delivered": EventKind.DELIVERED,
    "bounce": EventKind.BOUNCED,
    "spamreport": EventKind.COMPLAINED,
    "unsubscribe": EventKind.UNSUBSCRIBED,
    "group_unsubscribe": EventKind.UNSUBSCRIBED,
}
MAX_EVENT_ID_CHARS = 255
MAX_DETAIL_CHARS = 500


def malformed(detail: str) -> ValidationError:
    return ValidationError(detail, field="body", code="malformed_event")


def _ses_notification(envelope: dict[str, Any]) -> dict[str, Any]:
    message = envelope.get("Message")
    try:
        notification = json.loads(message) if isinstance(message, str) else None
    except ValueError:
        notification = None
    if not isinstance(notification, dict):
        raise malformed("the SNS Message is not an SES notification (a JSON object)")
    return notification


def _ses_kind(notification: dict[str, Any]) -> EventKind | None:
    name = notification.get("notificationType", notification.get("eventType"))
    return SES_KINDS.get(name) if isinstance(name, str) else None


def ses_stored_events(envelope: dict[str, Any]) -> tuple[list[StoredEvent], int]:
    """The events of a verified SNS Notification worth storing, and how many were ignored."""
    kind = _ses_kind(_ses_notification(envelope))
    event_id = envelope.get("MessageId")
    if not isinstance(event_id, str) or not 0 < len(event_id) <= MAX_EVENT_ID_CHARS:
        raise malformed("the SNS MessageId is missing or too long")
    if kind is None:
        return [], 1
    return [StoredEvent(kind, event_id, envelope)], 0


def sendgrid_stored_events(batch: Any) -> tuple[list[StoredEvent], int]:
    """The events of a verified SendGrid batch worth storing, and how many were ignored."""
    if not isinstance(batch, list):
        raise malformed("a SendGrid event webhook body is a JSON array of events")
    stored, ignored, seen = [], 0, set()
    for event in batch:
        name = event.get("event") if isinstance(event, dict) else None
        kind = SENDGRID_KINDS.get(name) if isinstance(name, str) else None
        if kind is None or not isinstance(event, dict):
            ignored += 1
            continue
        event_id = event.get("sg_event_id")
        if not isinstance(event_id, str) or not 0 < len(event_id) <= MAX_EVENT_ID_CHARS:
            # Without SendGrid's id, the event's own content keys it: a retry is the same bytes.
            canonical = json.dumps(event, sort_keys=True, separators=(",", ":"))
            event_id = "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
        if event_id in seen:
            ignored += 1
            continue
        seen.add(event_id)
        stored.append(StoredEvent(kind, event_id, event))
    return stored, ignored


def source_of(payload: dict[str, Any]) -> str:
    """Which provider's format a stored payload is in."""
    return SES_SOURCE if "TopicArn" in payload or "Message" in payload else SENDGRID_SOURCE


def recipient_events(payload: dict[str, Any]) -> list[RecipientEvent]:
    """What a stored event says of each recipient; [] when it names none usable."""
    if source_of(payload) == SES_SOURCE:
        return list(_ses_recipient_events(_ses_notification(payload)))
    event = _sendgrid_recipient_event(payload)
    return [] if event is None else [event]


def _time(value: Any) -> datetime:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return datetime.now(UTC)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return datetime.now(UTC)


def _text(value: Any) -> str | None:
    return value[:MAX_DETAIL_CHARS] if isinstance(value, str) and value else None


def _objects(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _ses_recipient_events(notification: dict[str, Any]) -> Iterator[RecipientEvent]:
    kind = _ses_kind(notification)
    mail = notification.get("mail")
    message_id = mail.get("messageId") if isinstance(mail, dict) else None
    if kind is None or not isinstance(message_id, str):
        return
    if kind is EventKind.BOUNCED:
        bounce = notification.get("bounce")
        bounce = bounce if isinstance(bounce, dict) else {}
        hard = bounce.get("bounceType") == "Permanent"
        for recipient in _objects(bounce.get("bouncedRecipients")):
            address = recipient.get("emailAddress")
            if isinstance(address, str):
                detail = " ".join(
                    part
                    for part in (
                        _text(recipient.get("status")),
                        _text(recipient.get("diagnosticCode")),
                    )
                    if part
                )
                yield RecipientEvent(
                    kind,
                    message_id,
                    address,
                    _time(bounce.get("timestamp")),
                    bounce=BounceKind.HARD if hard else BounceKind.SOFT,
                    detail=detail or _text(bounce.get("bounceSubType")),
                )
    elif kind is EventKind.COMPLAINED:
        complaint = notification.get("complaint")
        complaint = complaint if isinstance(complaint, dict) else {}
        for recipient in _objects(complaint.get("complainedRecipients")):
            address = recipient.get("emailAddress")
            if isinstance(address, str):
                yield RecipientEvent(
                    kind,
                    message_id,
                    address,
                    _time(complaint.get("timestamp")),
                    detail=_text(complaint.get("complaintFeedbackType")),
                )
    else:
        delivery = notification.get("delivery")
        delivery = delivery if isinstance(delivery, dict) else {}
        recipients = delivery.get("recipients")
        for address in recipients if isinstance(recipients, list) else []:
            if isinstance(address, str):
                yield RecipientEvent(kind, message_id, address, _time(delivery.get("timestamp")))


def sendgrid_message_id(sg_message_id: str) -> str:
    """`LRzXl_NHStOGhQ4kofSm_A.filterdrecv-...` -> `LRzXl_NHStOGhQ4kofSm_A` (the X-Message-Id)."""
    return sg_message_id.split(".", 1)[0]


def _sendgrid_bounce(event: dict[str, Any]) -> BounceKind:
    status = event.get("status")
    if isinstance(status, str) and status.startswith("4"):
        return BounceKind.SOFT
    if event.get("type") == "blocked":
        return BounceKind.SOFT
    return BounceKind.HARD


def _sendgrid_recipient_event(event: dict[str, Any]) -> RecipientEvent | None:
    name = event.get("event")
    kind = SENDGRID_KINDS.get(name) if isinstance(name, str) else None
    address = event.get("email")
    sg_message_id = event.get("sg_message_id")
    if kind is None or not isinstance(address, str) or not isinstance(sg_message_id, str):
        return None
    bounce = _sendgrid_bounce(event) if kind is EventKind.BOUNCED else None
    detail = " ".join(p for p in (_text(event.get("status")), _text(event.get("reason"))) if p)
    return RecipientEvent(
        kind,
        sendgrid_message_id(sg_message_id),
        address,
        _time(event.get("timestamp")),
        bounce=bounce,
        detail=detail or None,
    )
