"""The send path's figures: what campaign batches did per provider type (the core's
`DeliveryObserver`), and how long each provider call took (a wrapper around provider clients)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from openmailer.adapters.metrics.instruments import (
    CAMPAIGN_RECIPIENTS_CLAIMED,
    CAMPAIGN_RECIPIENTS_FAILED,
    CAMPAIGN_RECIPIENTS_RETRIED,
    CAMPAIGN_RECIPIENTS_SENT,
    NO_PROVIDER,
    PROVIDER_RECIPIENTS,
    PROVIDER_SEND_SECONDS,
)
from openmailer.core.ports.campaign_sending import RecipientResult, RecipientState
from openmailer.core.ports.sending import ProviderClient
from openmailer.core.sending.contract import CheckReport, OutgoingMessage
from openmailer.core.sending.outcomes import OutcomeKind, RecipientOutcome


class PrometheusDeliveryObserver:
    """Counts each batch's rows once, by state, per provider type: one `inc` per distinct
    (type, state) of the batch rather than per row."""

    def claimed(self, count: int) -> None:
        if count:
            CAMPAIGN_RECIPIENTS_CLAIMED.inc(count)

    def delivered(self, results: Sequence[tuple[RecipientResult, str | None]]) -> None:
        sent: dict[str, int] = {}
        retried: dict[str, int] = {}
        failed: dict[tuple[str, str], int] = {}
        for result, provider_type in results:
            label = provider_type or NO_PROVIDER
            if result.state is RecipientState.SENT:
                sent[label] = sent.get(label, 0) + 1
            elif result.state is RecipientState.PENDING:
                retried[label] = retried.get(label, 0) + 1
            elif result.state is RecipientState.FAILED:
                why = result.failure.value if result.failure is not None else "unknown"
                failed[(label, why)] = failed.get((label, why), 0) + 1
        for label, count in sent.items():
            CAMPAIGN_RECIPIENTS_SENT.labels(label).inc(count)
        for label, count in retried.items():
            CAMPAIGN_RECIPIENTS_RETRIED.labels(label).inc(count)
        for (label, why), count in failed.items():
            CAMPAIGN_RECIPIENTS_FAILED.labels(label, why).inc(count)


class TimedProviderClient:
    """A provider client whose `send_batch` calls are timed and their answers counted, under
    the provider's type (not its id: the label stays bounded however many providers exist)."""

    def __init__(self, client: ProviderClient, provider_type: str) -> None:
        self._client = client
        self._seconds = PROVIDER_SEND_SECONDS.labels(provider_type)
        self._outcomes = {
            kind: PROVIDER_RECIPIENTS.labels(provider_type, kind.value) for kind in OutcomeKind
        }

    async def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[RecipientOutcome]:
        started = time.perf_counter()
        try:
            outcomes = await self._client.send_batch(messages)
        finally:
            self._seconds.observe(time.perf_counter() - started)
        counts: dict[OutcomeKind, int] = {}
        for outcome in outcomes:
            counts[outcome.kind] = counts.get(outcome.kind, 0) + 1
        for kind, count in counts.items():
            self._outcomes[kind].inc(count)
        return outcomes

    async def check(self) -> CheckReport:
        return await self._client.check()

    async def aclose(self) -> None:
        await self._client.aclose()
