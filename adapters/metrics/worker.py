"""The worker fleet's metrics: a dramatiq middleware that counts each message, and the small
HTTP endpoint one `openmailer worker` command serves for all its processes.

dramatiq's own Prometheus middleware shows the way (a process forked by the dramatiq CLI serves
the multi-process directory's sum); this one binds where the settings say, loopback by default
(OPENMAILER_WORKER_METRICS_HOST / _PORT), and guards like the API's `/metrics`. It serves only
what the worker processes counted: the installation-wide figures read at scrape time (queues,
breakers, campaigns) come from the API's `/metrics`, once.
"""

from __future__ import annotations

import logging
import socket
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import dramatiq

from openmailer.adapters.metrics.exposure import (
    CONTENT_TYPE,
    exposition,
    process_exited,
    scrape_allowed,
)
from openmailer.adapters.metrics.instruments import WORKER_MESSAGE_SECONDS, WORKER_MESSAGES
from openmailer.adapters.settings import load_settings

log = logging.getLogger("openmailer.workers.metrics")
METRICS_PATH = "/metrics"


class WorkerMetrics(dramatiq.Middleware):
    """Messages finished per queue, actor and outcome, and the time each took."""

    def __init__(self) -> None:
        self._started: dict[str, float] = {}

    def before_process_message(self, broker: dramatiq.Broker, message: Any) -> None:
        self._started[message.message_id] = time.perf_counter()

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: Any,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        outcome = "failed" if exception is not None else "done"
        self._finished(message, outcome)

    def after_skip_message(self, broker: dramatiq.Broker, message: Any) -> None:
        self._finished(message, "skipped")  # a middleware refused it (too old, say)

    def _finished(self, message: Any, outcome: str) -> None:
        started = self._started.pop(message.message_id, None)
        labels = (message.queue_name, message.actor_name)
        if started is not None:
            WORKER_MESSAGE_SECONDS.labels(*labels).observe(time.perf_counter() - started)
        WORKER_MESSAGES.labels(*labels, outcome).inc()

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: Any) -> None:
        process_exited()


class _MetricsHandler(BaseHTTPRequestHandler):
    token: str | None = None

    def do_GET(self) -> None:
        allowed = scrape_allowed(
            self.client_address[0], self.headers.get("authorization"), self.token
        )
        if self.path.split("?", 1)[0] != METRICS_PATH or not allowed:
            self.send_error(404)
            return
        body = exposition()
        self.send_response(200)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug(format, *args)


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def serve_worker_metrics() -> int:
    """Runs in a process of its own, forked by the dramatiq CLI (`--fork-function`), until
    dramatiq stops it."""
    settings = load_settings()
    assert settings.worker_metrics_port is not None  # only started when a port is set
    handler = type("MetricsHandler", (_MetricsHandler,), {"token": settings.metrics_token})
    address = (settings.worker_metrics_host, settings.worker_metrics_port)
    server_class = _IPv6Server if ":" in address[0] else ThreadingHTTPServer
    try:
        server = server_class(address, handler)
    except OSError as error:
        log.error(
            "worker_metrics_not_served",
            extra={"address": f"{address[0]}:{address[1]}", "error": str(error)},
        )
        return 1
    server.daemon_threads = True
    log.info("worker_metrics_served", extra={"address": f"{address[0]}:{address[1]}"})
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0
