"""The effects policy of provider events, on plain states: bounces (hard at once, soft after
a count within a window), complaints and complaint-rate protection, deliveries, unsubscribes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from openmailer.core.audience.model import ContactStatus
from openmailer.core.events.model import (
    BounceKind,
    CampaignState,
    ContactState,
    EventKind,
    MessageState,
    RecipientEvent,
)
from openmailer.core.events.policy import (
    COMPLAINT_MIN_SAMPLE,
    SOFT_BOUNCE_LIMIT,
    SOFT_BOUNCE_WINDOW,
    UNKNOWN_MESSAGE,
    ComplaintHealth,
    complaint_health,
    decide,
    percentage,
)

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 2, 4, 0, tzinfo=UTC)
CONTACT = ContactState(
    id=7, status=ContactStatus.SUBSCRIBED, bounce_count=0, last_bounce_at=None, complaint_count=0
)
CAMPAIGN = CampaignState(
    id=3, status="SENDING", sent_count=200, bounce_count=0, complaint_count=0, unsubscribe_count=0
)
MESSAGE = MessageState(
    log_id=11,
    log_status="SENT",
    recipient_id=5,
    recipient_status="SENT",
    recipient_bounced=False,
    recipient_complained=False,
    contact=CONTACT,
    campaign=CAMPAIGN,
)


def event(kind: EventKind, bounce: BounceKind | None = None, at: datetime = NOW) -> RecipientEvent:
    return RecipientEvent(kind, "m-1", "a@example.org", at, bounce=bounce, detail="5.1.1")


def test_a_hard_bounce_bounces_the_contact_at_once_and_counts_in_the_campaign() -> None:
    effects = decide(event(EventKind.BOUNCED, BounceKind.HARD), MESSAGE)
    assert effects.contact["status"] == "BOUNCED"
    assert effects.contact["bounce_type"] == "HARD"
    assert effects.contact["last_bounce_at"] == NOW
    assert effects.contact_status_changed
    assert effects.recipient["status"] == "BOUNCED"
    assert effects.log == {"status": "BOUNCED", "error_message": "5.1.1"}
    assert effects.campaign == {"bounce_count": 1, "bounce_rate": Decimal("0.50")}


def test_soft_bounces_bounce_the_contact_at_the_limit_within_the_window() -> None:
    contact = CONTACT
    for number in range(1, SOFT_BOUNCE_LIMIT + 1):
        at = NOW + timedelta(days=number)
        effects = decide(
            event(EventKind.BOUNCED, BounceKind.SOFT, at), replace(MESSAGE, contact=contact)
        )
        assert effects.contact["bounce_count"] == number
        assert effects.contact["bounce_type"] == "SOFT"
        assert ("status" in effects.contact) is (number == SOFT_BOUNCE_LIMIT)
        contact = replace(contact, bounce_count=number, last_bounce_at=at)


def test_a_soft_bounce_after_the_window_starts_counting_again() -> None:
    old = replace(
        CONTACT, bounce_count=SOFT_BOUNCE_LIMIT - 1, last_bounce_at=NOW - SOFT_BOUNCE_WINDOW * 2
    )
    effects = decide(event(EventKind.BOUNCED, BounceKind.SOFT), replace(MESSAGE, contact=old))
    assert effects.contact["bounce_count"] == 1
    assert "status" not in effects.contact


def test_a_recipient_bounced_before_is_not_counted_twice() -> None:
    bounced = replace(MESSAGE, recipient_bounced=True, recipient_status="BOUNCED")
    effects = decide(event(EventKind.BOUNCED, BounceKind.HARD), bounced)
    assert effects.campaign == {}
    assert effects.recipient == {}


def test_a_complained_contact_stays_complained_on_a_bounce() -> None:
    complained = replace(MESSAGE, contact=replace(CONTACT, status=ContactStatus.COMPLAINED))
    effects = decide(event(EventKind.BOUNCED, BounceKind.HARD), complained)
    assert "status" not in effects.contact
    assert not effects.contact_status_changed


def test_a_complaint_marks_the_contact_and_counts_once_per_recipient() -> None:
    effects = decide(event(EventKind.COMPLAINED), MESSAGE)
    assert effects.contact == {
        "complaint_count": 1,
        "last_complaint_at": NOW,
        "status": "COMPLAINED",
    }
    assert effects.recipient == {"complained_at": NOW}
    assert effects.campaign == {"complaint_count": 1}

    again = decide(event(EventKind.COMPLAINED), replace(MESSAGE, recipient_complained=True))
    assert again.empty
    assert again.note is not None


def test_the_complaint_rate_pauses_a_sending_campaign_only_after_the_minimum_sample() -> None:
    small = replace(CAMPAIGN, sent_count=COMPLAINT_MIN_SAMPLE - 1, complaint_count=50)
    effects = decide(event(EventKind.COMPLAINED), replace(MESSAGE, campaign=small))
    assert "status" not in effects.campaign

    big = replace(CAMPAIGN, sent_count=COMPLAINT_MIN_SAMPLE, complaint_count=2)
    effects = decide(event(EventKind.COMPLAINED), replace(MESSAGE, campaign=big))
    assert effects.campaign["status"] == "PAUSED"
    assert "0.30%" in effects.campaign["pause_reason"]

    below = replace(CAMPAIGN, sent_count=COMPLAINT_MIN_SAMPLE, complaint_count=1)
    effects = decide(event(EventKind.COMPLAINED), replace(MESSAGE, campaign=below))
    assert effects.campaign == {"complaint_count": 2}

    finished = replace(big, status="SENT")
    effects = decide(event(EventKind.COMPLAINED), replace(MESSAGE, campaign=finished))
    assert "status" not in effects.campaign


def test_complaint_health_warns_from_a_tenth_of_a_percent() -> None:
    assert complaint_health(0, 5000) is ComplaintHealth.OK
    assert complaint_health(4, 5000) is ComplaintHealth.OK
    assert complaint_health(5, 5000) is ComplaintHealth.WARNING
    assert complaint_health(15, 5000) is ComplaintHealth.OVER_LIMIT
    assert complaint_health(3, 100) is ComplaintHealth.WARNING  # under the sample: never over


def test_a_delivery_moves_the_log_and_recipient_but_not_a_later_status() -> None:
    effects = decide(event(EventKind.DELIVERED), MESSAGE)
    assert effects.log == {"status": "DELIVERED", "delivered_at": NOW}
    assert effects.recipient == {"status": "DELIVERED", "delivered_at": NOW}
    opened = replace(MESSAGE, recipient_status="OPENED", log_status="BOUNCED")
    assert decide(event(EventKind.DELIVERED), opened).empty


def test_a_provider_unsubscribe_unsubscribes_a_receiving_contact_only() -> None:
    effects = decide(event(EventKind.UNSUBSCRIBED), MESSAGE)
    assert effects.contact == {"status": "UNSUBSCRIBED", "unsubscribed_at": NOW}
    assert effects.campaign == {"unsubscribe_count": 1}
    bounced = replace(MESSAGE, contact=replace(CONTACT, status=ContactStatus.BOUNCED))
    assert decide(event(EventKind.UNSUBSCRIBED), bounced).empty


def test_an_event_for_an_unknown_message_changes_nothing_and_says_so() -> None:
    effects = decide(event(EventKind.COMPLAINED), None)
    assert effects.empty
    assert effects.note == UNKNOWN_MESSAGE


def test_a_transactional_message_moves_its_contact_without_a_campaign() -> None:
    transactional = replace(MESSAGE, recipient_id=None, recipient_status=None, campaign=None)
    effects = decide(event(EventKind.COMPLAINED), transactional)
    assert effects.contact["status"] == "COMPLAINED"
    assert effects.campaign == {} and effects.recipient == {}


def test_rates_are_percentages_of_two_decimals() -> None:
    assert percentage(1, 3) == Decimal("33.33")
    assert percentage(5, 0) == Decimal("0.00")
    assert percentage(9, 4) == Decimal("100")
