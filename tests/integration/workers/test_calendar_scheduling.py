"""Calendar jobs (daily at 03:00 UTC, monthly on the 1st at 02:00 UTC) on a real Redis: once per
period across schedulers, caught up when no scheduler was up at the due time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import redis

from openmailer.adapters.workers.scheduler import ScheduledJob, enqueue_due
from openmailer.core.schedules import CalendarSchedule

pytestmark = pytest.mark.integration


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_url)
    connection.delete(*connection.keys("openmailer:scheduler:calendar-*") or ["-"])
    yield connection
    connection.delete(*connection.keys("openmailer:scheduler:calendar-*") or ["-"])
    connection.close()


def calendar_job(name: str, schedule: CalendarSchedule, runs: list[str]) -> ScheduledJob:
    return ScheduledJob(name, None, lambda: runs.append(name), calendar=schedule)


def test_two_schedulers_enqueue_a_daily_job_once_per_day(client: redis.Redis) -> None:
    runs: list[str] = []
    daily = calendar_job("calendar-daily", CalendarSchedule.daily(hour=3), runs)
    ticks = [
        ("first", "2026-12-02T02:59:59"),  # the 1st's run is the latest due: once
        ("second", "2026-12-02T02:59:59"),
        ("first", "2026-12-02T03:00:00"),  # the 2nd's
        ("second", "2026-12-02T03:00:01"),
        ("second", "2026-12-02T18:00:00"),
        ("first", "2026-12-03T02:00:00"),
    ]
    enqueued = [(who, enqueue_due(client, [daily], at(when))) for who, when in ticks]

    assert enqueued == [
        ("first", ["calendar-daily"]),
        ("second", []),
        ("first", ["calendar-daily"]),
        ("second", []),
        ("second", []),
        ("first", []),
    ]
    assert runs == ["calendar-daily", "calendar-daily"]
    ttl = client.ttl("openmailer:scheduler:calendar-daily:2026-12-02")
    assert 24 * 3600 < ttl <= 2 * 24 * 3600  # kept past the period's end


def test_a_scheduler_started_late_runs_that_days_job_once(client: redis.Redis) -> None:
    runs: list[str] = []
    daily = calendar_job("calendar-late", CalendarSchedule.daily(hour=3), runs)
    assert enqueue_due(client, [daily], at("2026-12-02T05:00:00")) == ["calendar-late"]
    assert enqueue_due(client, [daily], at("2026-12-02T05:00:01")) == []
    # Down again from the 2nd to the 6th: only the 6th's run, not one per missed day.
    assert enqueue_due(client, [daily], at("2026-12-06T04:00:00")) == ["calendar-late"]
    assert client.keys("openmailer:scheduler:calendar-late:2026-12-0[345]") == []
    assert runs == ["calendar-late", "calendar-late"]


def test_the_monthly_job_runs_once_a_month_beside_interval_jobs(client: redis.Redis) -> None:
    runs: list[str] = []
    monthly = calendar_job("calendar-monthly", CalendarSchedule.monthly(day=1, hour=2), runs)
    ticking = ScheduledJob("calendar-interval", 60, lambda: runs.append("interval"))
    jobs = [monthly, ticking]

    first = enqueue_due(client, jobs, at("2026-12-01T02:00:30"))
    second = enqueue_due(client, jobs, at("2026-12-01T02:00:45"))  # both slots already taken
    minute_later = enqueue_due(client, jobs, at("2026-12-01T02:01:00"))
    next_month = enqueue_due(client, jobs, at("2027-01-01T02:00:00"))

    assert first == ["calendar-monthly", "calendar-interval"]
    assert second == []
    assert minute_later == ["calendar-interval"]
    assert next_month == ["calendar-monthly", "calendar-interval"]
    assert (
        client.exists(
            "openmailer:scheduler:calendar-monthly:2026-12",
            "openmailer:scheduler:calendar-monthly:2027-01",
        )
        == 2
    )
