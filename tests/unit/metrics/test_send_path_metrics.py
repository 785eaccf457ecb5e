"""The send path's figures: batch results by state per provider type, and provider calls
timed and counted by answer."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from prometheus_client import REGISTRY

from openmailer.adapters.metrics.sending import PrometheusDeliveryObserver, TimedProviderClient
from openmailer.core.ports.campaign_sending import Failure, RecipientResult, RecipientState
from openmailer.core.sending.contract import CheckReport, OutgoingMessage
from openmailer.core.sending.outcomes import RecipientOutcome

pytestmark = pytest.mark.unit
MESSAGE = OutgoingMessage("<m1@acme.example>", "news@acme.example", ("a@example.net",), "Hi")


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def row(state: RecipientState, failure: Failure | None = None) -> RecipientResult:
    return RecipientResult(1, "a@example.net", state, failure)


def test_each_row_is_counted_once_by_state_under_the_type_that_answered() -> None:
    observer = PrometheusDeliveryObserver()
    sent = sample("openmailer_campaign_recipients_sent_total", provider_type="UNIT_SES")
    retried = sample("openmailer_campaign_recipients_retried_total", provider_type="UNIT_SES")
    failed = "openmailer_campaign_recipients_failed_total"
    refused = sample(failed, provider_type="UNIT_SES", failure="permanent")
    unrendered = sample(failed, provider_type="none", failure="render")
    claimed = sample("openmailer_campaign_recipients_claimed_total")

    observer.claimed(6)
    observer.delivered(
        [
            (row(RecipientState.SENT), "UNIT_SES"),
            (row(RecipientState.SENT), "UNIT_SES"),
            (row(RecipientState.PENDING), "UNIT_SES"),
            (row(RecipientState.FAILED, Failure.PERMANENT), "UNIT_SES"),
            (row(RecipientState.FAILED, Failure.RENDER), None),
        ]
    )
    assert sample("openmailer_campaign_recipients_claimed_total") == claimed + 6
    assert sample("openmailer_campaign_recipients_sent_total", provider_type="UNIT_SES") == sent + 2
    assert (
        sample("openmailer_campaign_recipients_retried_total", provider_type="UNIT_SES")
        == retried + 1
    )
    assert sample(failed, provider_type="UNIT_SES", failure="permanent") == refused + 1
    assert sample(failed, provider_type="none", failure="render") == unrendered + 1


class ScriptedClient:
    def __init__(self, outcomes: list[RecipientOutcome] | Exception) -> None:
        self.outcomes = outcomes
        self.closed = False

    async def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[RecipientOutcome]:
        if isinstance(self.outcomes, Exception):
            raise self.outcomes
        return self.outcomes

    async def check(self) -> CheckReport:
        return CheckReport(ok=True, detail="fine")

    async def aclose(self) -> None:
        self.closed = True


async def test_a_provider_call_is_timed_and_its_answers_counted_by_kind() -> None:
    outcomes = [
        RecipientOutcome.accepted(MESSAGE.message_id, "a@example.net", "Q1"),
        RecipientOutcome.accepted(MESSAGE.message_id, "b@example.net", "Q2"),
        RecipientOutcome.transient(MESSAGE.message_id, "c@example.net", "451 later"),
    ]
    inner = ScriptedClient(outcomes)
    client = TimedProviderClient(inner, "UNIT_SMTP")
    calls = sample("openmailer_provider_send_duration_seconds_count", provider_type="UNIT_SMTP")
    accepted = sample(
        "openmailer_provider_recipients_total", provider_type="UNIT_SMTP", outcome="accepted"
    )

    assert await client.send_batch([MESSAGE]) == outcomes
    assert (
        sample("openmailer_provider_send_duration_seconds_count", provider_type="UNIT_SMTP")
        == calls + 1
    )
    assert (
        sample(
            "openmailer_provider_recipients_total", provider_type="UNIT_SMTP", outcome="accepted"
        )
        == accepted + 2
    )
    assert (
        sample(
            "openmailer_provider_recipients_total", provider_type="UNIT_SMTP", outcome="transient"
        )
        >= 1
    )
    assert (await client.check()).ok
    await client.aclose()
    assert inner.closed


async def test_a_call_that_raises_is_still_timed_and_the_error_passes_through() -> None:
    client = TimedProviderClient(ScriptedClient(RuntimeError("plugin broke")), "UNIT_BROKEN")
    with pytest.raises(RuntimeError):
        await client.send_batch([MESSAGE])
    assert (
        sample("openmailer_provider_send_duration_seconds_count", provider_type="UNIT_BROKEN") == 1
    )
