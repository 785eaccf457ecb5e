"""The record of every retention run (`retention_runs`) and each user's choices
(`user_retention_settings`), both from migration 036."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncEngine

from openmailer.adapters.db.retention.choices import SETTINGS
from openmailer.adapters.db.tables.retention import RetentionRunRecord
from openmailer.adapters.db.users import to_db_time
from openmailer.core.retention.model import RecordedRun, RetentionReport
from openmailer.core.retention.policy import (
    CampaignReports,
    ClickLogs,
    ContactHistory,
    RetentionSettings,
)

RUNS = cast(Table, RetentionRunRecord.__table__)


def naive_utc(moment: datetime) -> datetime:
    """The columns are naive UTC; a run's `now` already is, an aware time is converted."""
    return moment if moment.tzinfo is None else cast(datetime, to_db_time(moment))


class SqlAlchemyRetentionRunLog:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def record(self, report: RetentionReport, *, started_at: datetime) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                RUNS.insert().values(
                    job=report.job,
                    dry_run=report.dry_run,
                    started_at=naive_utc(started_at),
                    seconds=report.seconds,
                    rows=dict(report.rows),
                    error=report.error,
                )
            )

    async def latest(self) -> Mapping[str, RecordedRun]:
        statement = (
            select(RUNS)
            .ext(distinct_on(RUNS.c.job))
            .order_by(RUNS.c.job, RUNS.c.started_at.desc(), RUNS.c.id.desc())
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(statement)).mappings().all()
        return {
            row["job"]: RecordedRun(
                job=row["job"],
                started_at=row["started_at"],
                report=RetentionReport(
                    row["job"], row["dry_run"], row["rows"], row["seconds"], row["error"]
                ),
            )
            for row in rows
        }


class SqlAlchemyRetentionSettings:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get(self, user_id: int) -> RetentionSettings:
        async with self._engine.connect() as conn:
            row = (
                (await conn.execute(select(SETTINGS).where(SETTINGS.c.user_id == user_id)))
                .mappings()
                .first()
            )
        if row is None:
            return RetentionSettings()
        return RetentionSettings(
            campaign_reports=CampaignReports(row["campaign_reports"]),
            click_logs=ClickLogs(row["click_logs"]),
            contact_history=ContactHistory(row["contact_history"]),
        )

    async def put(self, user_id: int, settings: RetentionSettings) -> RetentionSettings:
        values = {
            "campaign_reports": settings.campaign_reports.value,
            "click_logs": settings.click_logs.value,
            "contact_history": settings.contact_history.value,
        }
        statement = insert(SETTINGS).values(user_id=user_id, **values)
        statement = statement.on_conflict_do_update(
            index_elements=[SETTINGS.c.user_id],
            set_={**values, "updated_at": statement.excluded.updated_at},
        )
        async with self._engine.begin() as conn:
            await conn.execute(statement)
        return settings
