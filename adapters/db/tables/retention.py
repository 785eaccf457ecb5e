"""Retention: each user's choices and the record of every retention run (migration 036)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, Float, ForeignKey, Index, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import Text

from openmailer.adapters.db.base import Base, enum_check, timestamp_now_column
from openmailer.core.retention.policy import (
    DEFAULT_SETTINGS,
    CampaignReports,
    ClickLogs,
    ContactHistory,
)


class UserRetentionSettings(Base):
    """One row per user who chose; a user without a row has the defaults."""

    __tablename__ = "user_retention_settings"
    __table_args__ = (
        enum_check("campaign_reports", tuple(CampaignReports)),
        enum_check("click_logs", tuple(ClickLogs)),
        enum_check("contact_history", tuple(ContactHistory)),
    )

    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    campaign_reports: Mapped[str] = mapped_column(
        String(16), nullable=False, server_default=DEFAULT_SETTINGS.campaign_reports.value
    )
    click_logs: Mapped[str] = mapped_column(
        String(16), nullable=False, server_default=DEFAULT_SETTINGS.click_logs.value
    )
    contact_history: Mapped[str] = mapped_column(
        String(16), nullable=False, server_default=DEFAULT_SETTINGS.contact_history.value
    )
    updated_at: Mapped[datetime] = timestamp_now_column()


class RetentionRunRecord(Base):
    """What one run of a retention job did: rows per table, how long, and its error if it failed."""

    __tablename__ = "retention_runs"
    __table_args__ = (Index("idx_retention_runs_job_started", "job", "started_at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    job: Mapped[str] = mapped_column(String(64), nullable=False)
    dry_run: Mapped[bool] = mapped_column(Boolean, nullable=False)
    started_at: Mapped[datetime] = mapped_column(DateTime(), nullable=False)
    seconds: Mapped[float] = mapped_column(Float, nullable=False)
    rows: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    error: Mapped[str | None] = mapped_column(Text)
