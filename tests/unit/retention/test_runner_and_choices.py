"""The retention runner and the settings service on fakes: timing, isolation of failures,
job selection, and choices checked with the allowed values named."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

import pytest

from openmailer.core.errors import ValidationError
from openmailer.core.retention.model import (
    Cadence,
    RecordedRun,
    RetentionJob,
    RetentionReport,
    RetentionRun,
)
from openmailer.core.retention.policy import ClickLogs, ContactHistory, RetentionSettings
from openmailer.core.retention.runner import run_jobs, select_jobs
from openmailer.core.retention.service import RetentionPorts, RetentionService, parse_choices
from tests.unit.audience.conftest import principal

pytestmark = pytest.mark.unit

NOW = datetime(2031, 3, 15, 3, 0)


class FakeRunLog:
    def __init__(self) -> None:
        self.recorded: list[tuple[RetentionReport, datetime]] = []

    async def record(self, report: RetentionReport, *, started_at: datetime) -> None:
        self.recorded.append((report, started_at))

    async def latest(self) -> Mapping[str, RecordedRun]:
        return {r.job: RecordedRun(r.job, at, r) for r, at in self.recorded}


class FakeSettings:
    def __init__(self) -> None:
        self.by_user: dict[int, RetentionSettings] = {}

    async def get(self, user_id: int) -> RetentionSettings:
        return self.by_user.get(user_id, RetentionSettings())

    async def put(self, user_id: int, settings: RetentionSettings) -> RetentionSettings:
        self.by_user[user_id] = settings
        return settings


def ticking(*moments: float) -> Any:
    values: Iterator[float] = iter(moments)
    return lambda: next(values)


async def removes(engine: Any, run: RetentionRun) -> Mapping[str, int]:
    return {"rows": 0 if run.dry_run else 3}


async def fails(engine: Any, run: RetentionRun) -> Mapping[str, int]:
    raise LookupError("no such table")


JOBS = [
    RetentionJob("first", Cadence.DAILY, "", removes),
    RetentionJob("broken", Cadence.DAILY, "", fails),
    RetentionJob("monthly", Cadence.MONTHLY, "", removes),
]


async def test_each_job_is_timed_recorded_and_a_failure_does_not_stop_the_rest() -> None:
    log = FakeRunLog()
    reports = await run_jobs(
        JOBS, object(), RetentionRun(now=NOW), log, timer=ticking(10.0, 10.5, 20.0, 21.0, 30, 32)
    )
    assert [(r.job, dict(r.rows), r.seconds, r.error) for r in reports] == [
        ("first", {"rows": 3}, 0.5, None),
        ("broken", {}, 1.0, "LookupError: no such table"),
        ("monthly", {"rows": 3}, 2.0, None),
    ]
    assert [(report.job, at) for report, at in log.recorded] == [
        ("first", NOW),
        ("broken", NOW),
        ("monthly", NOW),
    ]


def test_jobs_are_selected_by_name_cadence_or_all() -> None:
    assert [job.name for job in select_jobs(JOBS, "daily")] == ["first", "broken"]
    assert [job.name for job in select_jobs(JOBS, "monthly")] == ["monthly"]
    assert [job.name for job in select_jobs(JOBS, "broken")] == ["broken"]
    assert len(select_jobs(JOBS, None)) == 3
    with pytest.raises(ValidationError, match="one of: first, broken, monthly, daily, monthly"):
        select_jobs(JOBS, "frist")


def test_a_run_needs_a_positive_batch_size() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RetentionRun(now=NOW, batch_size=0)


def test_bad_choices_are_all_named_with_their_allowed_values() -> None:
    with pytest.raises(ValidationError) as refused:
        parse_choices({"click_logs": "7d", "contact_history": "5y", "colour": "red"})
    assert refused.value.detail == (
        "click_logs: '7d' is not one of 30d, 90d, 1y; "
        "contact_history: '5y' is not one of 1y, 3y, forever; "
        "colour: not a retention setting (campaign_reports, click_logs, contact_history)"
    )
    assert refused.value.field == "click_logs"
    assert parse_choices({"click_logs": "1y"}) == {"click_logs": ClickLogs.ONE_YEAR}


async def test_choosing_changes_only_the_named_choices_of_the_caller() -> None:
    settings = FakeSettings()
    service = RetentionService(RetentionPorts(settings=settings, run_log=FakeRunLog()))
    ann, bea = principal(1), principal(2)

    changed = await service.choose(ann, {"contact_history": "3y"})

    assert changed == RetentionSettings(contact_history=ContactHistory.THREE_YEARS)
    assert await service.settings_of(ann) == changed
    assert await service.settings_of(bea) == RetentionSettings()
    assert await service.choose(bea, {}) == RetentionSettings()
    assert 2 not in settings.by_user  # nothing chosen, nothing stored
