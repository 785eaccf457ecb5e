"""Liveness records of workers and schedulers in one Redis hash, read by `/health`."""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Mapping
from typing import Any

from openmailer.adapters.redis import as_text

HEARTBEATS_KEY = "openmailer:heartbeats"


def record_heartbeat(client: Any, process: str, **details: float) -> None:
    record = {"pid": os.getpid(), "host": socket.gethostname(), "at": time.time(), **details}
    client.hset(HEARTBEATS_KEY, process, json.dumps(record))


def heartbeat_ages(raw: Mapping[bytes | str, bytes | str], now: float) -> dict[str, float]:
    """Seconds since each process last recorded itself; unreadable records are skipped."""
    ages = {}
    for process, record in raw.items():
        try:
            ages[as_text(process)] = round(now - float(json.loads(record)["at"]), 1)
        except (ValueError, KeyError, TypeError):
            continue
    return ages


def heartbeat(enqueued_at: float) -> None:
    """Proves the queue path end to end: the scheduler enqueues, a worker records it."""
    import dramatiq
    from dramatiq.brokers.redis import RedisBroker

    broker = dramatiq.get_broker()
    assert isinstance(broker, RedisBroker), "workers run on the Redis broker"
    record_heartbeat(broker.client, "worker", enqueued_at=enqueued_at)
