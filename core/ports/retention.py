"""Ports of the retention area: each user's choices and the record of every run."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

from openmailer.core.retention.model import RecordedRun, RetentionReport
from openmailer.core.retention.policy import RetentionSettings


class RetentionSettingsStore(Protocol):
    async def get(self, user_id: int) -> RetentionSettings:
        """The user's choices; the defaults for a user who never chose."""
        ...

    async def put(self, user_id: int, settings: RetentionSettings) -> RetentionSettings: ...


class RetentionRunLog(Protocol):
    async def record(self, report: RetentionReport, *, started_at: datetime) -> None: ...

    async def latest(self) -> Mapping[str, RecordedRun]:
        """The latest recorded run of each job that ever ran, by job name."""
        ...
