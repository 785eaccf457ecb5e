"""Liveness records of workers and schedulers in one Redis hash, read by `/health`."""

from __future__ import annotations

import json
import os
import socket
import time
from typing import Any

HEARTBEATS_KEY = "openmailer:heartbeats"


def record_heartbeat(client: Any, process: str, **details: float) -> None:
    record = {"pid": os.getpid(), "host": socket.gethostname(), "at": time.time(), **details}
    client.hset(HEARTBEATS_KEY, process, json.dumps(record))


def heartbeat_ages(raw: dict[bytes, bytes], now: float) -> dict[str, float]:
    """Seconds since each process last recorded itself; unreadable records are skipped."""
    ages = {}
    for process, record in raw.items():
        try:
            ages[process.decode()] = round(now - float(json.loads(record)["at"]), 1)
        except (ValueError, KeyError, TypeError):
            continue
    return ages
