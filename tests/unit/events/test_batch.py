"""A batch of events decided in one pass: each from the state the events before it left, the
rows' final values kept once, and an event that fails leaving state and writes as they were."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from openmailer.core.audience.model import ContactStatus
from openmailer.core.events.batch import NO_RECIPIENT, EffectsBatch
from openmailer.core.events.model import (
    BounceKind,
    CampaignState,
    ContactState,
    EventKind,
    MessageKey,
    MessageState,
    RecipientEvent,
)
from openmailer.core.events.policy import SOFT_BOUNCE_LIMIT, UNKNOWN_MESSAGE

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 2, 4, 0, tzinfo=UTC)
USER = 1
CAMPAIGN = CampaignState(
    id=3, status="SENDING", sent_count=10, bounce_count=0, complaint_count=0, unsubscribe_count=0
)


def message(number: int) -> MessageState:
    """The number-th message of the campaign, to a contact of its own."""
    return MessageState(
        log_id=100 + number,
        log_status="SENT",
        recipient_id=200 + number,
        recipient_status="SENT",
        recipient_bounced=False,
        recipient_complained=False,
        contact=ContactState(
            id=300 + number,
            status=ContactStatus.SUBSCRIBED,
            bounce_count=0,
            last_bounce_at=None,
            complaint_count=0,
        ),
        campaign=CAMPAIGN,
    )


def key(number: int) -> MessageKey:
    return MessageKey.of(USER, f"m-{number}", f"R{number}@Example.org")


def event(number: int, kind: EventKind, bounce: BounceKind | None = None) -> RecipientEvent:
    return RecipientEvent(kind, f"m-{number}", f"r{number}@example.org", NOW, bounce=bounce)


def snapshot(batch: EffectsBatch) -> tuple[object, ...]:
    writes = batch.writes
    return (
        dict(writes.recipients),
        dict(writes.contacts),
        dict(writes.campaigns),
        set(writes.status_changed),
    )


def test_events_of_one_campaign_count_from_the_ones_before_them() -> None:
    batch = EffectsBatch({key(n): message(n) for n in range(3)})
    for number in range(3):
        assert batch.decide_event(USER, [event(number, EventKind.BOUNCED, BounceKind.HARD)]) is None
    assert batch.writes.campaigns == {3: {"bounce_count": 3, "bounce_rate": 30}}
    assert set(batch.writes.contacts) == {300, 301, 302}
    assert batch.writes.status_changed == {300, 301, 302}
    assert {values["status"] for values in batch.writes.recipients.values()} == {"BOUNCED"}
    state = batch.current(key(0))
    assert state is not None and state.recipient_bounced and state.log_status == "BOUNCED"


def test_soft_bounces_of_one_contact_in_one_batch_reach_the_limit() -> None:
    batch = EffectsBatch({key(0): message(0)})
    for _ in range(SOFT_BOUNCE_LIMIT):
        batch.decide_event(USER, [event(0, EventKind.BOUNCED, BounceKind.SOFT)])
    assert batch.writes.contacts[300]["bounce_count"] == SOFT_BOUNCE_LIMIT
    assert batch.writes.contacts[300]["status"] == "BOUNCED"
    # the recipient bounced once: the campaign counts it once
    assert batch.writes.campaigns[3]["bounce_count"] == 1


def test_a_failing_event_leaves_the_state_and_the_writes_as_they_were() -> None:
    batch = EffectsBatch({key(n): message(n) for n in range(2)})
    batch.decide_event(USER, [event(0, EventKind.COMPLAINED)])
    before = (
        dict(batch.writes.contacts),
        dict(batch.writes.campaigns),
        set(batch.writes.status_changed),
    )
    # Its first recipient event is kept, then the second cannot be decided: both are undone.
    with pytest.raises(AttributeError):
        batch.decide_event(USER, [event(1, EventKind.COMPLAINED), None])  # type: ignore[list-item]
    after = (
        dict(batch.writes.contacts),
        dict(batch.writes.campaigns),
        set(batch.writes.status_changed),
    )
    assert after == before
    state = batch.current(key(1))
    assert state is not None and state.contact is not None
    assert (state.recipient_complained, state.contact.status) == (False, ContactStatus.SUBSCRIBED)
    assert state.campaign == replace(CAMPAIGN, complaint_count=1)
    # and the next event decides from the state the first one left
    batch.decide_event(USER, [event(1, EventKind.COMPLAINED)])
    assert batch.writes.campaigns[3]["complaint_count"] == 2


def test_unknown_messages_and_events_without_recipients_say_so() -> None:
    batch = EffectsBatch({})
    assert batch.decide_event(USER, [event(9, EventKind.DELIVERED)]) == (
        f"r9@example.org: {UNKNOWN_MESSAGE}"
    )
    assert batch.decide_event(USER, []) == NO_RECIPIENT
    assert batch.writes.logs == {} and batch.writes.campaigns == {}
