"""A retention job and what one run of it did.

A job runs in bounded batches and is idempotent; a run reports the rows it removed (or, with
`dry_run`, would remove) per table, so an operator can see it, by hand or in the run records.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

DEFAULT_BATCH_SIZE = 5_000  # rows per batch transaction


class Cadence(StrEnum):
    DAILY = "daily"  # every day at 03:00 UTC (the spec)
    MONTHLY = "monthly"  # the 1st of each month at 02:00 UTC (the spec)


@dataclass(frozen=True, slots=True)
class RetentionRun:
    """The inputs of one run. `now` comes from the caller's clock, so tests can age rows."""

    now: datetime  # naive UTC, as the database's TIMESTAMP columns
    dry_run: bool = False
    batch_size: int = DEFAULT_BATCH_SIZE

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {self.batch_size}")


@dataclass(frozen=True, slots=True)
class RetentionReport:
    job: str
    dry_run: bool
    rows: Mapping[str, int] = field(default_factory=dict)  # table -> rows removed (or would be)
    seconds: float = 0.0
    error: str | None = None  # the failure's text when the job failed (rows are then empty)

    @property
    def failed(self) -> bool:
        return self.error is not None


@dataclass(frozen=True, slots=True)
class RecordedRun:
    """A run as the run records keep it (`retention_runs`)."""

    job: str
    started_at: datetime  # naive UTC
    report: RetentionReport


@dataclass(frozen=True, slots=True)
class RetentionJob:
    """`run(engine, run)` does the work and returns rows per table (the engine: the adapters'
    SQLAlchemy AsyncEngine, hence Any here)."""

    name: str
    cadence: Cadence
    description: str
    run: Callable[[Any, RetentionRun], Awaitable[Mapping[str, int]]]
