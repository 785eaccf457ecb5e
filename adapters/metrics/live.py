"""Figures read at scrape time, from the shared state every process sees: queue depths and
circuit breakers in Redis, the tracking buffer's length, the campaigns' speeds and rates in
PostgreSQL. They describe the whole installation, so the API's `/metrics` serves them (a worker's
endpoint serves only what its processes counted, or a fleet would report them once per host).

Each source is read with a timeout of its own; one that fails or is slow leaves its metrics out
and sets `openmailer_metrics_source_up{source}` to 0, and the scrape still answers.

Per-campaign figures are bounded: only campaigns SENDING, or SENT or PAUSED in the last
RECENT_CAMPAIGN_DAYS, at most MAX_CAMPAIGNS of them, labelled by campaign id (never a user).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.core import GaugeMetricFamily, Metric
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from openmailer.adapters.db.operations_figures import (
    CampaignFigures,
    active_provider_types,
    recent_campaign_figures,
)
from openmailer.adapters.redis.circuit_breaker import BREAKER_STATES, breaker_states
from openmailer.adapters.redis.tracking_stream import buffered_hits
from openmailer.adapters.workers.queue_depths import QUEUE_STATES, queue_depths

log = logging.getLogger("openmailer.metrics")

READ_TIMEOUT_SECONDS = 2.0
RECENT_CAMPAIGN_DAYS = 7
MAX_CAMPAIGNS = 50
MAX_PROVIDERS = 200
SOURCES = ("queues", "tracking_buffer", "circuit_breakers", "campaigns")


@dataclass(frozen=True, slots=True)
class BreakerFigures:
    provider_id: int
    provider_type: str
    state: str
    failures: int


@dataclass
class LiveFigures:
    queues: dict[str, dict[str, int]] = field(default_factory=dict)
    tracking_buffered: int | None = None
    breakers: list[BreakerFigures] = field(default_factory=list)
    campaigns: list[CampaignFigures] = field(default_factory=list)
    failed_sources: set[str] = field(default_factory=set)


async def _breakers(engine: AsyncEngine, redis: Redis) -> list[BreakerFigures]:
    types = await active_provider_types(engine, limit=MAX_PROVIDERS)
    states = await breaker_states(redis, list(types), int(time.time() * 1000))
    return [
        BreakerFigures(provider_id, types[provider_id], state, failures)
        for provider_id, (state, failures) in states.items()
    ]


async def read_live_figures(
    engine: AsyncEngine, redis: Redis, queues: Iterable[str]
) -> LiveFigures:
    figures = LiveFigures()
    readings: dict[str, Awaitable[Any]] = {
        "queues": queue_depths(redis, queues),
        "tracking_buffer": buffered_hits(redis),
        "circuit_breakers": _breakers(engine, redis),
        "campaigns": recent_campaign_figures(
            engine, days=RECENT_CAMPAIGN_DAYS, limit=MAX_CAMPAIGNS
        ),
    }

    async def bounded(source: str, reading: Awaitable[Any]) -> Any:
        try:
            async with asyncio.timeout(READ_TIMEOUT_SECONDS):
                return await reading
        except Exception as error:  # a scrape reports what it could read
            log.warning(
                "metrics_source_failed", extra={"source": source, "error": type(error).__name__}
            )
            figures.failed_sources.add(source)
            return None

    results = await asyncio.gather(*(bounded(s, r) for s, r in readings.items()))
    queues_read, buffered, breakers, campaigns = results
    figures.queues = queues_read or {}
    figures.tracking_buffered = buffered
    figures.breakers = breakers or []
    figures.campaigns = campaigns or []
    return figures


class LiveFiguresCollector:
    """One scrape's figures as metric families (a collector for that one exposition)."""

    def __init__(self, figures: LiveFigures) -> None:
        self.figures = figures

    def collect(self) -> Iterator[Metric]:
        f = self.figures
        up = GaugeMetricFamily(
            "openmailer_metrics_source_up",
            "1 if this scrape could read the source (Redis or PostgreSQL), else 0.",
            labels=["source"],
        )
        for source in SOURCES:
            up.add_metric([source], 0 if source in f.failed_sources else 1)
        yield up
        yield from self._queues()
        if f.tracking_buffered is not None:
            yield GaugeMetricFamily(
                "openmailer_tracking_events_buffered",
                "Opens and clicks in the Redis buffer, not yet applied to PostgreSQL.",
                value=f.tracking_buffered,
            )
        yield from self._breakers()
        yield from self._campaigns()

    def _queues(self) -> Iterator[Metric]:
        if "queues" in self.figures.failed_sources:
            return
        depth = GaugeMetricFamily(
            "openmailer_queue_messages",
            "Messages in each dramatiq queue, by state (ready, in_progress, delayed, dead).",
            labels=["queue", "state"],
        )
        for queue, states in sorted(self.figures.queues.items()):
            for state in QUEUE_STATES:
                depth.add_metric([queue, state], states.get(state, 0))
        yield depth

    def _breakers(self) -> Iterator[Metric]:
        if "circuit_breakers" in self.figures.failed_sources:
            return
        state = GaugeMetricFamily(
            "openmailer_provider_circuit_state",
            "1 for the circuit breaker's current state (closed, open, half_open), else 0.",
            labels=["provider_id", "provider_type", "state"],
        )
        failures = GaugeMetricFamily(
            "openmailer_provider_consecutive_failures",
            "Transient batch failures in a row (the breaker opens at the threshold).",
            labels=["provider_id", "provider_type"],
        )
        for breaker in self.figures.breakers:
            labels = [str(breaker.provider_id), breaker.provider_type]
            for name in BREAKER_STATES:
                state.add_metric([*labels, name], 1 if breaker.state == name else 0)
            failures.add_metric(labels, breaker.failures)
        yield state
        yield failures

    def _campaigns(self) -> Iterator[Metric]:
        if "campaigns" in self.figures.failed_sources:
            return
        families = {
            "speed": GaugeMetricFamily(
                "openmailer_campaign_send_speed_messages_per_second",
                "The configured send_speed of each SENDING campaign.",
                labels=["campaign_id"],
            ),
            "sent": GaugeMetricFamily(
                "openmailer_campaign_sent_recipients",
                "Recipients sent so far, per campaign SENDING or recently SENT or PAUSED (its "
                "rate is the campaign's send rate, to compare with its send_speed).",
                labels=["campaign_id", "status"],
            ),
            "bounce": GaugeMetricFamily(
                "openmailer_campaign_bounce_ratio",
                "Bounced / sent, per campaign SENDING or recently SENT or PAUSED.",
                labels=["campaign_id", "status"],
            ),
            "complaint": GaugeMetricFamily(
                "openmailer_campaign_complaint_ratio",
                "Complaints / sent, per campaign SENDING or recently SENT or PAUSED.",
                labels=["campaign_id", "status"],
            ),
        }
        for campaign in self.figures.campaigns:
            labels = [str(campaign.campaign_id), campaign.status]
            if campaign.status == "SENDING":
                families["speed"].add_metric(labels[:1], campaign.send_speed)
            families["sent"].add_metric(labels, campaign.sent)
            sent = campaign.sent or 1  # nothing sent: nothing bounced either, a ratio of 0
            families["bounce"].add_metric(labels, campaign.bounced / sent)
            families["complaint"].add_metric(labels, campaign.complaints / sent)
        yield from families.values()
