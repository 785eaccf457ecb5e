"""What a batch's send does to each recipient row: the provider's outcome, the campaign's retry
settings and the row's retry count decide SENT, FAILED (and why) or PENDING after a backoff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from openmailer.core.campaigns.lifecycle import CampaignStatus
from openmailer.core.campaigns.model import Campaign, CampaignSettings
from openmailer.core.campaigns.services.delivery import BatchSender, SendSettings, backoff_seconds
from openmailer.core.ports.campaign_sending import ClaimedRecipient, Failure, RecipientState
from openmailer.core.sending.chain import Delivery
from openmailer.core.sending.contract import OutgoingMessage
from openmailer.core.sending.outcomes import RecipientOutcome

pytestmark = pytest.mark.unit
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
MESSAGE = OutgoingMessage("<t1.7@acme.example>", "news@acme.example", ("a@example.net",), "Hi")


def campaign(**settings: Any) -> Campaign:
    return Campaign(
        id=7,
        user_id=1,
        status=CampaignStatus.SENDING,
        settings=CampaignSettings(name="c", template_id=1, list_id=1, **settings),
        scheduled_at=None,
        sent_at=None,
        total_recipients=1,
        sent_count=0,
        failed_count=0,
        template_version=1,
        created_at=NOW,
        updated_at=NOW,
    )


def result(outcome: RecipientOutcome, *, retries: int = 0, **settings: Any) -> Any:
    sender = BatchSender(SimpleNamespace(settings=SendSettings(retry_backoff_seconds=10)))  # type: ignore[arg-type]
    row = ClaimedRecipient(id=3, tracking_id="t1", email="a@example.net", retry_count=retries)
    return sender._result(campaign(**settings), row, MESSAGE, Delivery(outcome, 5), NOW)


def test_accepted_is_sent_with_the_providers_message_id() -> None:
    sent = result(RecipientOutcome.accepted(MESSAGE.message_id, "a@example.net", "Q1"))
    assert (sent.state, sent.provider_message_id, sent.provider_id) == (
        RecipientState.SENT,
        "Q1",
        5,
    )
    assert sent.message_id == MESSAGE.message_id


def test_a_refusal_fails_at_once_and_an_ambiguous_failure_is_never_retried() -> None:
    refused = result(RecipientOutcome.permanent(MESSAGE.message_id, "a@example.net", "550 no"))
    assert (refused.state, refused.failure, refused.error) == (
        RecipientState.FAILED,
        Failure.PERMANENT,
        "550 no",
    )
    lost = RecipientOutcome.transient(MESSAGE.message_id, "a@example.net", "lost", ambiguous=True)
    assert (result(lost).state, result(lost).failure) == (RecipientState.FAILED, Failure.AMBIGUOUS)


def test_a_transient_failure_backs_off_until_its_retries_are_used_up() -> None:
    later = RecipientOutcome.transient(MESSAGE.message_id, "a@example.net", "451 later")
    first = result(later, retries=0, max_retries=2)
    assert (first.state, first.next_attempt_at) == (
        RecipientState.PENDING,
        NOW + timedelta(seconds=10),
    )
    second = result(later, retries=1, max_retries=2)
    assert second.next_attempt_at == NOW + timedelta(seconds=20)
    spent = result(later, retries=2, max_retries=2)
    assert (spent.state, spent.failure) == (RecipientState.FAILED, Failure.TRANSIENT)
    no_retries = result(later, retries=0, retry_failed=False)
    assert (no_retries.state, no_retries.failure) == (RecipientState.FAILED, Failure.TRANSIENT)


def test_the_backoff_doubles_and_is_capped() -> None:
    assert [backoff_seconds(n, 10) for n in range(4)] == [10, 20, 40, 80]
    assert backoff_seconds(30, 10) == 15 * 60
