"""The scheduler: enqueues periodic jobs. Any number may run; each job is enqueued once per slot.

A slot is claimed with `SET key NX EX ttl` in Redis, so two schedulers never enqueue the same
job for the same period, and a scheduler that dies leaves nothing to clean up. An interval job's
slot is `now // interval`; a calendar job's (daily at 03:00 UTC, ...) is the day or month of its
latest due time (`core/schedules.py`), so it runs once per period and catches up when no
scheduler was up at the due time.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import FrameType
from typing import Any

import dramatiq
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from openmailer.adapters.bootstrap import builtin_areas, configure_broker
from openmailer.adapters.settings import Settings
from openmailer.adapters.workers.actors import Actors, declare_actors
from openmailer.adapters.workers.heartbeats import record_heartbeat
from openmailer.core.areas import AreaRegistries, PeriodicJob
from openmailer.core.schedules import CalendarSchedule

log = logging.getLogger("openmailer.scheduler")
TICK_SECONDS = 1.0


@dataclass(frozen=True)
class ScheduledJob:
    """Every `interval_seconds`, or at the times of `calendar` when it is given."""

    name: str
    interval_seconds: int | None
    enqueue: Callable[[], object]
    calendar: CalendarSchedule | None = None

    def slot(self, now: float) -> tuple[str, int]:
        """The slot `now` falls in and how long (seconds) a claim of it must be remembered."""
        if self.calendar is not None:
            moment = datetime.fromtimestamp(now, UTC)
            return self.calendar.slot(moment), self.calendar.slot_memory_seconds
        assert self.interval_seconds is not None
        return str(int(now // self.interval_seconds)), self.interval_seconds * 2


def scheduled_jobs(areas: AreaRegistries, actors: Actors) -> list[ScheduledJob]:
    """The areas' periodic jobs, each bound to the actor it enqueues."""
    jobs = []
    for entry in areas.periodic_jobs.entries():
        job = entry.value
        if job.actor not in actors:
            raise KeyError(f"periodic job {entry.key!r} enqueues unknown actor {job.actor!r}")
        jobs.append(
            ScheduledJob(
                entry.key, job.interval_seconds, _sender(actors[job.actor], job), job.calendar
            )
        )
    return jobs


def enqueue_due(client: Any, jobs: list[ScheduledJob], now: float) -> list[str]:
    """Enqueue each job whose current slot no scheduler has claimed yet; return their names."""
    enqueued = []
    for job in jobs:
        slot, ttl_seconds = job.slot(now)
        key = f"openmailer:scheduler:{job.name}:{slot}"
        if client.set(key, os.getpid(), nx=True, ex=ttl_seconds):
            job.enqueue()
            enqueued.append(job.name)
    return enqueued


def _sender(actor: dramatiq.Actor[Any, Any], job: PeriodicJob) -> Callable[[], object]:
    def send() -> object:
        return actor.send(*job.arguments())

    return send


class StopFlag:
    """Set by a signal handler. Not a threading.Event: setting an Event from a handler while the
    main thread waits on that Event deadlocks on the Event's own lock."""

    def __init__(self) -> None:
        self.raised = False

    def set(self) -> None:
        self.raised = True


def run_forever(
    settings: Settings, *, stop: StopFlag | None = None, areas: AreaRegistries | None = None
) -> int:
    broker = configure_broker(settings)
    client = broker.client
    areas = areas or builtin_areas()
    jobs = scheduled_jobs(areas, declare_actors(areas.actors, broker))
    stop = stop or _stop_on_signals()
    logging.basicConfig(level=settings.log_level)
    log.info("scheduler started with jobs: %s", ", ".join(job.name for job in jobs))
    while not stop.raised:
        try:
            enqueue_due(client, jobs, time.time())
            record_heartbeat(client, "scheduler")
        except (RedisConnectionError, RedisTimeoutError) as error:
            # Redis restarting: the slots it forgot are enqueued once it is back (the
            # reconciler re-enqueues what its restart lost), so the scheduler must outlive it.
            log.warning("scheduler_redis_unavailable: %s", error)
        time.sleep(TICK_SECONDS)
    log.info("scheduler stopped")
    return 0


def _stop_on_signals() -> StopFlag:
    stop = StopFlag()

    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    return stop
