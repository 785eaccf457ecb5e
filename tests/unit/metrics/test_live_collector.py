"""What one scrape's live readings look like in the text format: every queue in every state,
breaker states one-hot, per-campaign ratios, and a failed source reported rather than raised."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from openmailer.adapters.db.operations_figures import CampaignFigures
from openmailer.adapters.metrics.live import BreakerFigures, LiveFigures, LiveFiguresCollector

pytestmark = pytest.mark.unit


def exposed(figures: LiveFigures) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    registry = CollectorRegistry()
    registry.register(LiveFiguresCollector(figures))
    text = generate_latest(registry).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def key(name: str, **labels: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return name, tuple(sorted(labels.items()))


def test_every_reading_becomes_its_gauges() -> None:
    figures = LiveFigures(
        queues={"campaigns": {"ready": 3, "in_progress": 2, "delayed": 1, "dead": 0}},
        tracking_buffered=17,
        breakers=[
            BreakerFigures(4, "SMTP", "open", 5),
            BreakerFigures(9, "SES", "closed", 0),
        ],
        campaigns=[
            CampaignFigures(11, "SENDING", send_speed=200, sent=1000, bounced=20, complaints=1),
            CampaignFigures(12, "SENT", send_speed=100, sent=0, bounced=0, complaints=0),
        ],
    )
    found = exposed(figures)
    assert found[key("openmailer_queue_messages", queue="campaigns", state="ready")] == 3
    assert found[key("openmailer_queue_messages", queue="campaigns", state="in_progress")] == 2
    assert found[key("openmailer_tracking_events_buffered")] == 17
    smtp = {"provider_id": "4", "provider_type": "SMTP"}
    assert found[key("openmailer_provider_circuit_state", state="open", **smtp)] == 1
    assert found[key("openmailer_provider_circuit_state", state="closed", **smtp)] == 0
    assert found[key("openmailer_provider_circuit_state", state="half_open", **smtp)] == 0
    assert found[key("openmailer_provider_consecutive_failures", **smtp)] == 5
    sending = {"campaign_id": "11", "status": "SENDING"}
    assert found[key("openmailer_campaign_send_speed_messages_per_second", campaign_id="11")] == 200
    assert found[key("openmailer_campaign_sent_recipients", **sending)] == 1000
    assert found[key("openmailer_campaign_bounce_ratio", **sending)] == pytest.approx(0.02)
    assert found[key("openmailer_campaign_complaint_ratio", **sending)] == pytest.approx(0.001)
    # a finished campaign has rates but no speed to hold it to; nothing sent is a ratio of 0
    assert key("openmailer_campaign_send_speed_messages_per_second", campaign_id="12") not in found
    assert found[key("openmailer_campaign_bounce_ratio", campaign_id="12", status="SENT")] == 0
    for source in ("queues", "tracking_buffer", "circuit_breakers", "campaigns"):
        assert found[key("openmailer_metrics_source_up", source=source)] == 1


def test_a_source_that_could_not_be_read_is_reported_and_its_metrics_left_out() -> None:
    figures = LiveFigures(
        tracking_buffered=None,
        failed_sources={"queues", "tracking_buffer", "campaigns", "circuit_breakers"},
    )
    found = exposed(figures)
    for source in ("queues", "tracking_buffer", "circuit_breakers", "campaigns"):
        assert found[key("openmailer_metrics_source_up", source=source)] == 0
    assert {name for name, _ in found} == {"openmailer_metrics_source_up"}
