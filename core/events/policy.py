"""What a provider event changes: the one policy of bounces, complaints, deliveries and
provider unsubscribes, decided from the current state alone (the adapter reads it locked and
writes what this decides, in one transaction).

- Delivered: the log and the campaign recipient become DELIVERED with `delivered_at` (a
  recipient already opened, clicked or bounced keeps that status).
- Bounce: the log and the recipient become BOUNCED (the first bounce of a recipient counts in
  the campaign's `bounce_count` and `bounce_rate` = bounced / sent, in percent). A hard bounce
  makes the contact BOUNCED at once; a soft one counts in `bounce_count`, which restarts at 1
  when the previous bounce is older than SOFT_BOUNCE_WINDOW, and the contact becomes BOUNCED at
  the SOFT_BOUNCE_LIMIT-th soft bounce within it. `bounce_type` and `last_bounce_at` follow the
  latest bounce. A COMPLAINED contact stays COMPLAINED.
- Complaint: the contact becomes COMPLAINED (receives nothing again, without an explicit
  override: core/audience/status.py) with `complaint_count` and `last_complaint_at`; the
  recipient gets `complained_at` and the campaign's `complaint_count` grows (once per
  recipient). Complaint-rate protection: once a SENDING campaign has sent
  COMPLAINT_MIN_SAMPLE messages, a complaint rate (complaints / sent) at or above
  COMPLAINT_PAUSE_RATE (Gmail's bulk-sender limit, 0.3%) pauses it, with the reason recorded;
  from COMPLAINT_WARN_RATE (0.1%) its health is `warning`.
- Unsubscribe: a SUBSCRIBED or PENDING contact becomes UNSUBSCRIBED (`unsubscribed_at`), as our
  own unsubscribe does, and the campaign's `unsubscribe_count` grows; BOUNCED and COMPLAINED
  contacts keep their stronger status.
- An event for a message no email log names changes nothing and says so (`note`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from openmailer.core.audience.model import ContactStatus
from openmailer.core.audience.status import LOCKED_STATUSES, RECEIVING_STATUSES
from openmailer.core.events.model import (
    BounceKind,
    CampaignState,
    ContactState,
    Effects,
    EventKind,
    MessageState,
    RecipientEvent,
)

SOFT_BOUNCE_LIMIT = 3
SOFT_BOUNCE_WINDOW = timedelta(days=30)
COMPLAINT_PAUSE_RATE = Decimal("0.003")
COMPLAINT_WARN_RATE = Decimal("0.001")
COMPLAINT_MIN_SAMPLE = 1000
UNKNOWN_MESSAGE = "no email log has this provider message id and recipient"
# Recipient statuses a delivery report moves on; later ones (opened, clicked, bounced) stay.
DELIVERABLE_RECIPIENT_STATUSES = frozenset({"PENDING", "SENDING", "SENT", "FAILED"})
DELIVERABLE_LOG_STATUSES = frozenset({"QUEUED", "SENT", "FAILED"})
# Kinds decided from the email log and the campaign recipient alone (a delivery changes no
# contact or campaign): a batch of only these need not read, nor lock, contacts and campaigns.
LOG_ONLY_KINDS = frozenset({EventKind.DELIVERED})
CAMPAIGN_SENDING = "SENDING"
CAMPAIGN_PAUSED = "PAUSED"


class ComplaintHealth(StrEnum):
    OK = "ok"
    WARNING = "warning"
    OVER_LIMIT = "over_limit"


def complaint_rate(complaints: int, sent: int) -> Decimal:
    return Decimal(0) if sent <= 0 else Decimal(complaints) / Decimal(sent)


def complaint_health(complaints: int, sent: int) -> ComplaintHealth:
    rate = complaint_rate(complaints, sent)
    if sent >= COMPLAINT_MIN_SAMPLE and rate >= COMPLAINT_PAUSE_RATE:
        return ComplaintHealth.OVER_LIMIT
    if rate >= COMPLAINT_WARN_RATE:
        return ComplaintHealth.WARNING
    return ComplaintHealth.OK


def percentage(part: int, whole: int) -> Decimal:
    """`part` of `whole` in percent, as email_campaigns' NUMERIC(5,2) rates hold it."""
    if whole <= 0:
        return Decimal("0.00")
    value = min(Decimal(100), Decimal(100) * Decimal(part) / Decimal(whole))
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def decide(event: RecipientEvent, message: MessageState | None) -> Effects:
    if message is None:
        return Effects({}, {}, {}, {}, note=UNKNOWN_MESSAGE)
    if event.kind is EventKind.DELIVERED:
        return _delivered(event, message)
    if event.kind is EventKind.BOUNCED:
        return _bounced(event, message)
    if event.kind is EventKind.COMPLAINED:
        return _complained(event, message)
    return _unsubscribed(event, message)


def _delivered(event: RecipientEvent, message: MessageState) -> Effects:
    log: dict[str, Any] = {}
    if message.log_status in DELIVERABLE_LOG_STATUSES:
        log = {"status": "DELIVERED", "delivered_at": event.occurred_at}
    recipient: dict[str, Any] = {}
    if message.recipient_id is not None and (
        message.recipient_status in DELIVERABLE_RECIPIENT_STATUSES
    ):
        recipient = {"status": "DELIVERED", "delivered_at": event.occurred_at}
    return Effects(log, recipient, {}, {})


def _bounced(event: RecipientEvent, message: MessageState) -> Effects:
    log = {"status": "BOUNCED", "error_message": event.detail}
    recipient: dict[str, Any] = {}
    campaign: dict[str, Any] = {}
    if message.recipient_id is not None and not message.recipient_bounced:
        recipient = {
            "status": "BOUNCED",
            "bounced_at": event.occurred_at,
            "error_message": event.detail,
        }
        if message.campaign is not None:
            bounced = message.campaign.bounce_count + 1
            campaign = {
                "bounce_count": bounced,
                "bounce_rate": percentage(bounced, message.campaign.sent_count),
            }
    contact, changed = _contact_bounced(message.contact, event)
    return Effects(log, recipient, contact, campaign, contact_status_changed=changed)


def soft_bounces_after(contact: ContactState, at: datetime) -> int:
    """The contact's soft bounce count once this one is counted."""
    recent = contact.last_bounce_at is not None and at - contact.last_bounce_at <= (
        SOFT_BOUNCE_WINDOW
    )
    return contact.bounce_count + 1 if recent else 1


def _contact_bounced(
    contact: ContactState | None, event: RecipientEvent
) -> tuple[dict[str, Any], bool]:
    if contact is None:
        return {}, False
    hard = event.bounce is BounceKind.HARD
    count = contact.bounce_count + 1 if hard else soft_bounces_after(contact, event.occurred_at)
    values: dict[str, Any] = {
        "bounce_count": count,
        "bounce_type": BounceKind.HARD.value if hard else BounceKind.SOFT.value,
        "last_bounce_at": event.occurred_at,
    }
    bounces_out = hard or count >= SOFT_BOUNCE_LIMIT
    changed = bounces_out and contact.status not in LOCKED_STATUSES
    if changed:
        values["status"] = ContactStatus.BOUNCED.value
    return values, changed


def _complained(event: RecipientEvent, message: MessageState) -> Effects:
    if message.recipient_id is not None and message.recipient_complained:
        return Effects({}, {}, {}, {}, note="this recipient's complaint was already counted")
    recipient: dict[str, Any] = {}
    campaign: dict[str, Any] = {}
    if message.recipient_id is not None:
        recipient = {"complained_at": event.occurred_at}
        if message.campaign is not None:
            campaign = _campaign_complained(message.campaign)
    contact: dict[str, Any] = {}
    changed = False
    if message.contact is not None:
        contact = {
            "complaint_count": message.contact.complaint_count + 1,
            "last_complaint_at": event.occurred_at,
        }
        changed = message.contact.status is not ContactStatus.COMPLAINED
        if changed:
            contact["status"] = ContactStatus.COMPLAINED.value
    return Effects({}, recipient, contact, campaign, contact_status_changed=changed)


def _campaign_complained(campaign: CampaignState) -> dict[str, Any]:
    complaints = campaign.complaint_count + 1
    values: dict[str, Any] = {"complaint_count": complaints}
    over = complaint_health(complaints, campaign.sent_count) is ComplaintHealth.OVER_LIMIT
    if over and campaign.status == CAMPAIGN_SENDING:
        rate = Decimal(100) * complaint_rate(complaints, campaign.sent_count)
        values["status"] = CAMPAIGN_PAUSED
        values["pause_reason"] = (
            f"complaint rate {rate:.2f}% ({complaints} of {campaign.sent_count} sent) reached "
            f"{Decimal(100) * COMPLAINT_PAUSE_RATE:.1f}%, the bulk-sender limit"
        )
    return values


def _unsubscribed(event: RecipientEvent, message: MessageState) -> Effects:
    contact = message.contact
    if contact is None or contact.status not in RECEIVING_STATUSES:
        return Effects({}, {}, {}, {}, note="the contact receives nothing already")
    campaign: dict[str, Any] = {}
    if message.campaign is not None:
        campaign = {"unsubscribe_count": message.campaign.unsubscribe_count + 1}
    values = {"status": ContactStatus.UNSUBSCRIBED.value, "unsubscribed_at": event.occurred_at}
    return Effects({}, {}, values, campaign, contact_status_changed=True)
