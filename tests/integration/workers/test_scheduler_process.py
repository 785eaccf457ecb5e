"""The scheduler as operators run it: a real process that records itself and stops on signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import redis

from openmailer.adapters.bootstrap import builtin_areas, configure_broker
from openmailer.adapters.settings import load_settings
from openmailer.adapters.workers.actors import declare_actors
from openmailer.adapters.workers.heartbeats import HEARTBEATS_KEY

pytestmark = pytest.mark.integration


def start_scheduler(database_url: str, redis_url: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENMAILER_")}
    env |= {"OPENMAILER_DATABASE_URL": database_url, "OPENMAILER_REDIS_URL": redis_url}
    return subprocess.Popen(
        [sys.executable, "-m", "openmailer.adapters.cli", "scheduler"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_for_heartbeat(client: redis.Redis, pid: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = client.hget(HEARTBEATS_KEY, "scheduler")
        if record and json.loads(record)["pid"] == pid:
            return
        time.sleep(0.1)
    pytest.fail("the scheduler recorded no heartbeat")


@pytest.mark.parametrize("signals", [(signal.SIGTERM,), (signal.SIGINT,), (signal.SIGTERM,) * 3])
def test_the_scheduler_stops_on_signals(
    database_url: str, redis_url: str, signals: tuple[signal.Signals, ...]
) -> None:
    client = redis.Redis.from_url(redis_url)
    scheduler = start_scheduler(database_url, redis_url)
    try:
        wait_for_heartbeat(client, scheduler.pid)
        for sig in signals:  # repeated signals once deadlocked the handler on an Event's lock
            scheduler.send_signal(sig)
            time.sleep(0.01)
        assert scheduler.wait(timeout=15) == 0
    finally:
        if scheduler.poll() is None:
            scheduler.kill()
            scheduler.wait()
        # What it enqueued (domain re-checks and retention runs among them) must not reach a
        # later test's worker, which would run them on that test's data: flush_all empties the
        # queues declared on the broker, so the actors are declared on it first.
        urls = {"OPENMAILER_DATABASE_URL": database_url, "OPENMAILER_REDIS_URL": redis_url}
        broker = configure_broker(load_settings(urls))
        declare_actors(builtin_areas().actors, broker)
        broker.flush_all()
        client.close()
