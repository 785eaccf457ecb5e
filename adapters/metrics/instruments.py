"""The figures each process counts itself, and the few functions the rest of the code calls to
count them (docs/operations.md lists every metric).

Labels are bounded by construction: provider types, outcome kinds, error codes, actor and queue
names, job and table names all come from the code or the installed plugins, never from a
request; no user id, address or raw path is ever a label. In multi-process mode (API workers
under uvicorn, dramatiq worker processes) each process writes its samples to files in
PROMETHEUS_MULTIPROC_DIR and a scrape sums them (adapters/metrics/exposure.py).
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from prometheus_client import Counter, Gauge, Histogram

# Seconds. The tracking and unsubscribe routes answer in about a millisecond: the first buckets
# resolve them; the last ones catch a stalled database.
HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# One call sends a whole batch (100 messages by default), over kept connections.
PROVIDER_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
MESSAGE_BUCKETS = (0.005, 0.025, 0.1, 0.25, 1.0, 2.5, 10.0, 30.0, 60.0, 300.0, 900.0)
NO_PROVIDER = "none"

# --- the API ---------------------------------------------------------------------------------

HTTP_REQUEST_SECONDS = Histogram(
    "openmailer_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response, by route template.",
    ["route", "method", "status"],
    buckets=HTTP_BUCKETS,
)
WEBHOOK_EVENTS_RECEIVED = Counter(
    "openmailer_webhook_events_received_total",
    "Provider events in accepted webhook requests: stored, duplicate (stored before) or "
    "ignored (a kind that changes nothing).",
    ["disposition"],
)
WEBHOOK_REQUESTS_REJECTED = Counter(
    "openmailer_webhook_requests_rejected_total",
    "Webhook requests refused, by the error code of the answer (invalid_signature, "
    "malformed_event, stale_message, webhook_not_found, rate_limited...).",
    ["reason"],
)

# --- the workers -----------------------------------------------------------------------------

CAMPAIGN_RECIPIENTS_CLAIMED = Counter(
    "openmailer_campaign_recipients_claimed_total",
    "Campaign recipients claimed by a batch (before a provider is chosen).",
)
CAMPAIGN_RECIPIENTS_SENT = Counter(
    "openmailer_campaign_recipients_sent_total",
    "Campaign recipients a provider accepted.",
    ["provider_type"],
)
CAMPAIGN_RECIPIENTS_FAILED = Counter(
    "openmailer_campaign_recipients_failed_total",
    "Campaign recipients that failed for good, by why (permanent, transient: retries spent, "
    "ambiguous, render).",
    ["provider_type", "failure"],
)
CAMPAIGN_RECIPIENTS_RETRIED = Counter(
    "openmailer_campaign_recipients_retried_total",
    "Campaign recipients put back to be retried after a transient failure.",
    ["provider_type"],
)
PROVIDER_SEND_SECONDS = Histogram(
    "openmailer_provider_send_duration_seconds",
    "Time one call to a provider took to send a batch (campaign or transactional).",
    ["provider_type"],
    buckets=PROVIDER_BUCKETS,
)
PROVIDER_RECIPIENTS = Counter(
    "openmailer_provider_recipients_total",
    "Recipients in provider calls, by the provider's answer (accepted, transient, permanent).",
    ["provider_type", "outcome"],
)
TRACKING_EVENTS_FLUSHED = Counter(
    "openmailer_tracking_events_flushed_total",
    "Opens and clicks moved from the Redis buffer into PostgreSQL.",
)
WEBHOOK_EVENTS_PROCESSED = Counter(
    "openmailer_webhook_events_processed_total",
    "Stored provider events a worker took up: applied, or not (processed before, held by "
    "another worker, or failed and left for the periodic retry).",
    ["result"],
)
WORKER_MESSAGES = Counter(
    "openmailer_worker_messages_total",
    "dramatiq messages a worker process finished, by outcome (done, failed, skipped).",
    ["queue", "actor", "outcome"],
)
WORKER_MESSAGE_SECONDS = Histogram(
    "openmailer_worker_message_duration_seconds",
    "Time a worker spent on one dramatiq message.",
    ["queue", "actor"],
    buckets=MESSAGE_BUCKETS,
)

# --- retention jobs (run by the worker or by hand) ---------------------------------------------

RETENTION_RUNS = Counter(
    "openmailer_retention_runs_total",
    "Retention job runs, by result (ok, failed).",
    ["job", "result"],
)
RETENTION_ROWS = Counter(
    "openmailer_retention_rows_total",
    "Rows retention jobs removed, archived or reset, per table.",
    ["job", "table"],
)
RETENTION_LAST_DURATION = Gauge(
    "openmailer_retention_last_run_duration_seconds",
    "How long the job's latest run took.",
    ["job"],
    multiprocess_mode="mostrecent",
)
RETENTION_LAST_SUCCESS = Gauge(
    "openmailer_retention_last_success_timestamp_seconds",
    "When the job last finished without error (Unix time).",
    ["job"],
    multiprocess_mode="mostrecent",
)


def observe_retention_run(job: str, rows: Mapping[str, int], seconds: float, failed: bool) -> None:
    """Records one real run of a retention job (not a dry run): `rows` by table name, as the
    job's report has them."""
    RETENTION_RUNS.labels(job, "failed" if failed else "ok").inc()
    for table, count in rows.items():
        if count > 0:
            RETENTION_ROWS.labels(job, table).inc(count)
    RETENTION_LAST_DURATION.labels(job).set(seconds)
    if not failed:
        RETENTION_LAST_SUCCESS.labels(job).set(time.time())


def count_webhook_receipt(*, stored: int, duplicates: int, ignored: int) -> None:
    for disposition, count in (("stored", stored), ("duplicate", duplicates), ("ignored", ignored)):
        if count:
            WEBHOOK_EVENTS_RECEIVED.labels(disposition).inc(count)


def count_webhook_rejection(code: str) -> None:
    """`code`: the answer's stable error code (a constant of the code, never request data)."""
    WEBHOOK_REQUESTS_REJECTED.labels(code).inc()


def count_webhook_events_processed(*, taken: int, applied: int) -> None:
    if applied:
        WEBHOOK_EVENTS_PROCESSED.labels("applied").inc(applied)
    if taken > applied:
        WEBHOOK_EVENTS_PROCESSED.labels("not_applied").inc(taken - applied)


def count_tracking_events_flushed(count: int) -> None:
    if count:
        TRACKING_EVENTS_FLUSHED.inc(count)
