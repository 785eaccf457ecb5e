"""Brute-force lockout: after `max_failures` consecutive failed logins the account is locked.

The lock lasts `base_lock` and doubles with every further failure past the threshold, capped at
`max_lock`. A successful login resets the counter. While locked, login answers exactly as a wrong
password does, so a lock reveals nothing about which accounts exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

DOUBLINGS_CAP = 16


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    max_failures: int = 5
    base_lock: timedelta = timedelta(minutes=15)
    max_lock: timedelta = timedelta(hours=24)

    def is_locked(self, locked_until: datetime | None, now: datetime) -> bool:
        return locked_until is not None and now < locked_until

    def after_failure(self, failures_before: int, now: datetime) -> tuple[int, datetime | None]:
        """The new failure count and, when the threshold is reached, the time the lock ends."""
        failures = failures_before + 1
        if failures < self.max_failures:
            return failures, None
        return failures, now + self.lock_for(failures)

    def lock_for(self, failures: int) -> timedelta:
        """How long `failures` (at or past the threshold) lock the account. The SQL adapter
        computes the same in its claim statement (`DOUBLINGS_CAP` included)."""
        doublings = min(max(failures - self.max_failures, 0), DOUBLINGS_CAP)
        return min(self.base_lock * (1 << doublings), self.max_lock)


DEFAULT_LOCKOUT = LockoutPolicy()
