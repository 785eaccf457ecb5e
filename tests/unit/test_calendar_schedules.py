"""Calendar schedules: which period (slot) a moment is in, and when it became due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from openmailer.core.areas import PeriodicJob
from openmailer.core.schedules import CalendarSchedule

pytestmark = pytest.mark.unit

DAILY_3AM = CalendarSchedule.daily(hour=3)
MONTHLY_1ST_2AM = CalendarSchedule.monthly(day=1, hour=2)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "slot", "due"),
    [
        ("2026-12-02T03:00:00", "2026-12-02", "2026-12-02T03:00:00"),  # exactly due
        ("2026-12-02T05:00:00", "2026-12-02", "2026-12-02T03:00:00"),  # late: still that day's
        ("2026-12-02T23:59:59", "2026-12-02", "2026-12-02T03:00:00"),
        ("2026-12-02T02:59:59", "2026-12-01", "2026-12-01T03:00:00"),  # not yet: yesterday's
        ("2027-01-01T00:30:00", "2026-12-31", "2026-12-31T03:00:00"),  # across a year
        ("2028-03-01T01:00:00", "2028-02-29", "2028-02-29T03:00:00"),  # a leap day
    ],
)
def test_a_daily_slot_is_the_day_of_the_latest_due_time(now: str, slot: str, due: str) -> None:
    assert DAILY_3AM.slot(at(now)) == slot
    assert DAILY_3AM.latest_due(at(now)) == at(due)


@pytest.mark.parametrize(
    ("now", "slot"),
    [
        ("2026-12-01T02:00:00", "2026-12"),
        ("2026-12-01T01:59:59", "2026-11"),  # before the 1st's 02:00: still November's
        ("2026-12-17T12:00:00", "2026-12"),  # a scheduler up mid-month runs December's once
        ("2027-01-01T01:00:00", "2026-12"),  # across a year
        ("2027-01-01T02:00:00", "2027-01"),
    ],
)
def test_a_monthly_slot_is_the_month_of_the_latest_due_time(now: str, slot: str) -> None:
    assert MONTHLY_1ST_2AM.slot(at(now)) == slot


def test_a_scheduler_down_for_days_catches_up_only_the_latest_period() -> None:
    """Every moment from the due time until the next one is in the same slot; the days missed
    before it have no slot of their own any more."""
    up_again = at("2026-12-06T05:00:00")
    assert DAILY_3AM.slot(up_again) == "2026-12-06"
    moments = [up_again + timedelta(minutes=minutes) for minutes in range(0, 22 * 60, 30)]
    assert {DAILY_3AM.slot(moment) for moment in moments} == {"2026-12-06"}


def test_slots_are_counted_in_utc_whatever_the_zone_of_now() -> None:
    tokyo = timezone(timedelta(hours=9))
    # 11:30 in Tokyo on the 2nd is 02:30 UTC: the 1st's job is still the latest due.
    assert DAILY_3AM.slot(datetime(2026, 12, 2, 11, 30, tzinfo=tokyo)) == "2026-12-01"


def test_a_claimed_slot_is_remembered_past_the_end_of_its_period() -> None:
    assert DAILY_3AM.slot_memory_seconds > 24 * 3600
    assert MONTHLY_1ST_2AM.slot_memory_seconds > 31 * 24 * 3600


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: CalendarSchedule.daily(hour=24), "no such time of day"),
        (lambda: CalendarSchedule.daily(hour=3, minute=60), "no such time of day"),
        (lambda: CalendarSchedule.monthly(day=31, hour=2), "day must be 1-28"),
        (lambda: CalendarSchedule.monthly(day=0, hour=2), "day must be 1-28"),
    ],
)
def test_impossible_schedules_are_refused(make: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()  # type: ignore[operator]


def test_a_periodic_job_has_an_interval_or_a_calendar_not_both() -> None:
    assert PeriodicJob("tick", 60).calendar is None
    assert PeriodicJob("nightly", calendar=DAILY_3AM).interval_seconds is None
    with pytest.raises(ValueError, match="exactly one"):
        PeriodicJob("both", 60, calendar=DAILY_3AM)
    with pytest.raises(ValueError, match="exactly one"):
        PeriodicJob("neither")
    with pytest.raises(ValueError, match=">= 1"):
        PeriodicJob("never", 0)


def test_schedules_describe_themselves() -> None:
    assert DAILY_3AM.describe() == "daily at 03:00 UTC"
    assert MONTHLY_1ST_2AM.describe() == "monthly on day 1 at 02:00 UTC"
