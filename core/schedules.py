"""Calendar schedules: a job due once a day or once a month at a fixed UTC time.

The scheduler names each period by its latest due time at or before `now` (the day, or the
month): that name is the slot every scheduler competes for, so a period runs once however many
schedulers run. Because the slot is the latest due time rather than "now is exactly 03:00", a
scheduler that was down at 03:00 still runs that day's job when it starts (at 05:00, or 23:00),
and a scheduler starting after days of downtime runs only the latest period, never each one it
missed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum


class Every(StrEnum):
    DAY = "day"
    MONTH = "month"


# How long a claimed slot must be remembered: past the end of the longest such period, so that a
# scheduler late in the period finds the slot taken.
_SLOT_MEMORY = {Every.DAY: timedelta(days=2), Every.MONTH: timedelta(days=62)}


@dataclass(frozen=True, slots=True)
class CalendarSchedule:
    """Due every day at `hour`:`minute` UTC, or every month on `day` at that time."""

    every: Every
    hour: int
    minute: int = 0
    day: int = 1  # of the month; monthly schedules only

    def __post_init__(self) -> None:
        if not (0 <= self.hour <= 23 and 0 <= self.minute <= 59):
            raise ValueError(f"no such time of day: {self.hour:02d}:{self.minute:02d}")
        # Days 29-31 do not exist in every month; a schedule must be due in each.
        if not 1 <= self.day <= 28:
            raise ValueError(f"a monthly schedule's day must be 1-28, not {self.day}")

    @classmethod
    def daily(cls, hour: int, minute: int = 0) -> CalendarSchedule:
        return cls(Every.DAY, hour, minute)

    @classmethod
    def monthly(cls, day: int, hour: int, minute: int = 0) -> CalendarSchedule:
        return cls(Every.MONTH, hour, minute, day)

    def latest_due(self, now: datetime) -> datetime:
        """The latest due time at or before `now` (aware, UTC)."""
        now = now.astimezone(UTC)
        if self.every is Every.DAY:
            due = now.replace(hour=self.hour, minute=self.minute, second=0, microsecond=0)
            return due if due <= now else due - timedelta(days=1)
        due = now.replace(day=self.day, hour=self.hour, minute=self.minute, second=0, microsecond=0)
        if due <= now:
            return due
        year, month = (now.year, now.month - 1) if now.month > 1 else (now.year - 1, 12)
        return due.replace(year=year, month=month)

    def slot(self, now: datetime) -> str:
        """The name of the period `now` is in: its due day (`2026-12-02`) or month (`2026-12`)."""
        due = self.latest_due(now)
        return f"{due:%Y-%m-%d}" if self.every is Every.DAY else f"{due:%Y-%m}"

    @property
    def slot_memory_seconds(self) -> int:
        return int(_SLOT_MEMORY[self.every].total_seconds())

    def describe(self) -> str:
        time = f"{self.hour:02d}:{self.minute:02d} UTC"
        if self.every is Every.DAY:
            return f"daily at {time}"
        return f"monthly on day {self.day} at {time}"
