"""The counting helpers other code calls: retention runs, webhooks, the tracking drain."""

from __future__ import annotations

import time

import pytest
from prometheus_client import REGISTRY

from openmailer.adapters.metrics.instruments import (
    count_tracking_events_flushed,
    count_webhook_events_processed,
    count_webhook_receipt,
    count_webhook_rejection,
    observe_retention_run,
)

pytestmark = pytest.mark.unit


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_retention_run_records_its_rows_per_table_its_duration_and_its_success() -> None:
    job = "unit-purge-logs"
    before = sample("openmailer_retention_rows_total", job=job, table="email_logs")
    started = time.time()
    observe_retention_run(job, {"email_logs": 120, "webhook_events": 0}, 2.5, failed=False)
    assert sample("openmailer_retention_runs_total", job=job, result="ok") == 1
    assert sample("openmailer_retention_rows_total", job=job, table="email_logs") == before + 120
    # a table the run did not touch gets no series at all
    assert (
        REGISTRY.get_sample_value(
            "openmailer_retention_rows_total", {"job": job, "table": "webhook_events"}
        )
        is None
    )
    assert sample("openmailer_retention_last_run_duration_seconds", job=job) == 2.5
    assert sample("openmailer_retention_last_success_timestamp_seconds", job=job) >= started


def test_a_failed_retention_run_is_counted_and_leaves_the_last_success_alone() -> None:
    job = "unit-archive"
    observe_retention_run(job, {"email_campaigns": 3}, 1.0, failed=False)
    succeeded_at = sample("openmailer_retention_last_success_timestamp_seconds", job=job)
    observe_retention_run(job, {"email_campaigns": 2}, 9.0, failed=True)
    assert sample("openmailer_retention_runs_total", job=job, result="failed") == 1
    assert sample("openmailer_retention_runs_total", job=job, result="ok") == 1
    assert sample("openmailer_retention_rows_total", job=job, table="email_campaigns") == 5
    assert sample("openmailer_retention_last_run_duration_seconds", job=job) == 9.0
    assert sample("openmailer_retention_last_success_timestamp_seconds", job=job) == succeeded_at


def test_webhook_receipts_rejections_and_processing_are_counted_by_kind() -> None:
    received = "openmailer_webhook_events_received_total"
    stored, duplicate = (
        sample(received, disposition="stored"),
        sample(received, disposition="duplicate"),
    )
    count_webhook_receipt(stored=3, duplicates=1, ignored=0)
    assert sample(received, disposition="stored") == stored + 3
    assert sample(received, disposition="duplicate") == duplicate + 1

    rejected = sample("openmailer_webhook_requests_rejected_total", reason="invalid_signature")
    count_webhook_rejection("invalid_signature")
    assert (
        sample("openmailer_webhook_requests_rejected_total", reason="invalid_signature")
        == rejected + 1
    )

    processed = "openmailer_webhook_events_processed_total"
    applied, not_applied = (
        sample(processed, result="applied"),
        sample(processed, result="not_applied"),
    )
    count_webhook_events_processed(taken=5, applied=3)
    assert sample(processed, result="applied") == applied + 3
    assert sample(processed, result="not_applied") == not_applied + 2


def test_flushed_tracking_events_are_counted() -> None:
    before = sample("openmailer_tracking_events_flushed_total")
    count_tracking_events_flushed(0)
    count_tracking_events_flushed(42)
    assert sample("openmailer_tracking_events_flushed_total") == before + 42
