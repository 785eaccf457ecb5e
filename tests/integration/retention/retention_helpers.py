"""Rows made directly, with the times a test gives them (the jobs' clock is `NOW`)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from openmailer.adapters.db.list_counts import recount
from openmailer.core.retention.model import RetentionJob, RetentionReport, RetentionRun

NOW = datetime(2031, 3, 15, 3, 0, 0)  # naive UTC: the jobs' fixed clock
_numbers = itertools.count(1)


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


class Seed:
    """Inserts on one engine; each call its own transaction, returning the new row's id."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def one(self, sql: str, **values: Any) -> int:
        async with self.engine.begin() as conn:
            return int((await conn.execute(text(sql), values)).scalar_one())

    async def value(self, sql: str, **values: Any) -> Any:
        async with self.engine.connect() as conn:
            return (await conn.execute(text(sql), values)).scalar()

    async def rows(self, sql: str, **values: Any) -> list[tuple[Any, ...]]:
        async with self.engine.connect() as conn:
            return [tuple(row) for row in (await conn.execute(text(sql), values)).all()]

    async def user(self, *, sent: int = 0, month: date | None = None) -> int:
        number = next(_numbers)
        return await self.one(
            "INSERT INTO users (username, email, password, monthly_email_limit,"
            " monthly_emails_sent, monthly_emails_month)"
            " VALUES (:name, :email, 'x', 1000, :sent, :month) RETURNING id",
            name=f"retention{number}",
            email=f"retention{number}@example.com",
            sent=sent,
            month=month,
        )

    async def contact(
        self,
        user_id: int,
        *,
        status: str = "SUBSCRIBED",
        created: datetime = NOW,
        confirmation_sent: datetime | None = None,
        unsubscribed: datetime | None = None,
    ) -> int:
        return await self.one(
            "INSERT INTO contacts (user_id, email, status, created_at, updated_at,"
            " confirmation_sent_at, unsubscribed_at)"
            " VALUES (:user, :email, :status, :created, :created, :sent, :unsubscribed)"
            " RETURNING id",
            user=user_id,
            email=f"person{next(_numbers)}@example.org",
            status=status,
            created=created,
            sent=confirmation_sent,
            unsubscribed=unsubscribed,
        )

    async def contact_list(self, user_id: int) -> int:
        return await self.one(
            "INSERT INTO contact_lists (user_id, name) VALUES (:user, :name) RETURNING id",
            user=user_id,
            name=f"list {next(_numbers)}",
        )

    async def member(
        self,
        contact_id: int,
        list_id: int,
        *,
        status: str = "ACTIVE",
        created: datetime = NOW,
        removed: datetime | None = None,
    ) -> int:
        return await self.one(
            "INSERT INTO contact_list_memberships (contact_id, list_id, status, subscribed_at,"
            " unsubscribed_at, created_at) VALUES (:contact, :list, :status, :created,"
            " :removed, :created) RETURNING id",
            contact=contact_id,
            list=list_id,
            status=status,
            created=created,
            removed=removed,
        )

    async def recount(self, *list_ids: int) -> None:
        async with self.engine.begin() as conn:
            await recount(conn, list_ids)

    async def email_log(self, user_id: int, *, created: datetime) -> int:
        return await self.one(
            "INSERT INTO email_logs (user_id, email_type, recipient_email, status, created_at)"
            " VALUES (:user, 'TRANSACTIONAL', 'a@example.net', 'SENT', :created) RETURNING id",
            user=user_id,
            created=created,
        )

    async def webhook_event(self, user_id: int, *, processed: bool, created: datetime) -> int:
        return await self.one(
            "INSERT INTO webhook_events (user_id, event_type, provider_event_id, payload,"
            " processed, created_at) VALUES (:user, 'DELIVERED', :event, CAST(:payload AS jsonb),"
            " :processed, :created) RETURNING id",
            user=user_id,
            event=f"event-{next(_numbers)}",
            payload=json.dumps({"n": 1}),
            processed=processed,
            created=created,
        )

    async def api_key(self, user_id: int, *, expires: datetime | None, active: bool = True) -> int:
        number = next(_numbers)
        return await self.one(
            "INSERT INTO api_keys (user_id, key_name, api_key, key_prefix, scopes, is_active,"
            " expires_at) VALUES (:user, 'k', :key, 'om_live_', ARRAY['read:contacts'],"
            " :active, :expires) RETURNING id",
            user=user_id,
            key=f"{number:064d}",
            active=active,
            expires=expires,
        )

    async def tombstone(self, user_id: int, *, erased: datetime) -> int:
        return await self.one(
            "INSERT INTO erased_contacts (user_id, contact_id, address_hash, erased_at)"
            " VALUES (:user, :contact, :hash, :erased) RETURNING id",
            user=user_id,
            contact=next(_numbers),
            hash=b"h" * 32,
            erased=erased,
        )

    async def override(self, contact_id: int, user_id: int, *, created: datetime) -> int:
        return await self.one(
            "INSERT INTO contact_status_overrides (contact_id, user_id, from_status, to_status,"
            " reason, created_at) VALUES (:contact, :user, 'BOUNCED', 'SUBSCRIBED', 'fixed',"
            " :created) RETURNING id",
            contact=contact_id,
            user=user_id,
            created=created,
        )

    async def ids(self, table: str) -> set[int]:
        return {row[0] for row in await self.rows(f"SELECT id FROM {table}")}


async def run(job: RetentionJob, engine: AsyncEngine, **options: Any) -> Mapping[str, int]:
    return await job.run(engine, RetentionRun(now=NOW, **options))


async def dry_then_real_then_again(
    job: RetentionJob, engine: AsyncEngine, seed: Seed, tables: list[str], *, batch_size: int = 3
) -> tuple[Mapping[str, int], Mapping[str, int], Mapping[str, int]]:
    """The job's dry run (checked to change nothing in `tables`), its run, and a second run."""
    before = {table: await seed.ids(table) for table in tables}
    dry = await run(job, engine, dry_run=True, batch_size=batch_size)
    assert {table: await seed.ids(table) for table in tables} == before
    real = await run(job, engine, batch_size=batch_size)
    again = await run(job, engine, batch_size=batch_size)
    return dry, real, again


def job_named(name: str) -> RetentionJob:
    from openmailer.adapters.db.retention.jobs import RETENTION_JOBS

    return next(job for job in RETENTION_JOBS if job.name == name)


def report_of(reports: list[RetentionReport], job: str) -> RetentionReport:
    return next(report for report in reports if report.job == job)
