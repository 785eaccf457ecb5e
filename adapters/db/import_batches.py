"""One batch of an import committed: merged, counted, recorded, its resume point advanced.

Two batches of a run commit at once on two connections, in file order. Each holds its place
from before its merge until it is committed or given up: a session advisory lock keyed by the
job and the batch's end offset, which is where the next batch starts. The next batch merges,
then waits on that lock (shared) before it counts and commits: a wait PostgreSQL sees, so an
API edit waiting on the later batch while the earlier one waits on it is found a deadlock
instead of hanging. It then commits only while the job is still the committing attempt's
(`attempts` unchanged) and the job's resume point is the one the batch follows.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information
from sqlalchemy import and_, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openmailer.adapters.db.import_jobs import JOBS, to_job
from openmailer.adapters.db.import_merge import (
    count_merged,
    driver_of,
    merge_batch,
    record_rejections,
)
from openmailer.adapters.db.import_seen import remember
from openmailer.adapters.db.users import to_db_time
from openmailer.core.imports.model import (
    Batch,
    BatchOrder,
    ImportJob,
    ImportMode,
    ImportStatus,
    MergeOutcome,
    Rejection,
)
from openmailer.core.imports.service import BatchAbandoned, LeaseLost

ASYNCHRONOUS_COMMIT = text("SET LOCAL synchronous_commit = off")
# A batch's place: a session advisory lock keyed by the job and the batch's end offset, held
# from before its merge until it is committed or given up. The next batch, merged, waits on it
# (shared) before it commits: a wait PostgreSQL sees, so that a concurrent edit waiting on the
# later batch and waited on by the earlier one is found a deadlock, not left hanging.
_PLACE_KEY = "hashtextextended('import batch ' || CAST(:key AS text), 0)"
HOLD_PLACE = text(f"SELECT pg_advisory_lock({_PLACE_KEY})")
LEAVE_PLACE = text(f"SELECT pg_advisory_unlock({_PLACE_KEY})")
WAIT_FOR_PLACE = text(f"SELECT pg_advisory_lock_shared({_PLACE_KEY})")
LEAVE_SHARED_PLACE = text(f"SELECT pg_advisory_unlock_shared({_PLACE_KEY})")
DEADLOCK_DETECTED = "40P01"
DEADLOCK_ATTEMPTS = 3


def _place(job_id: int, offset: int) -> str:
    return f"{job_id} {offset}"


async def commit_batch(
    engine: AsyncEngine,
    job: ImportJob,
    batch: Batch,
    rejections: list[Rejection],
    *,
    mode: ImportMode,
    now: datetime,
    lease_until: datetime,
    order: BatchOrder | None = None,
) -> tuple[ImportJob, MergeOutcome]:
    # One connection for every attempt: it holds the batch's place (a session lock on its
    # end offset, where the next batch starts) until the batch is committed or given up.
    async with engine.connect() as conn:
        await conn.execute(HOLD_PLACE, {"key": _place(job.id, batch.end_offset)})
        await conn.commit()
        try:
            if order is not None and not order.placed.done():
                order.placed.set_result(None)
            return await _commit_batch_attempts(
                conn, job, batch, rejections, mode, now, lease_until, order
            )
        finally:
            try:
                await conn.execute(LEAVE_PLACE, {"key": _place(job.id, batch.end_offset)})
                await conn.commit()
            except Exception:
                await conn.invalidate()  # its session, and so the lock, ends with it
                raise


async def _commit_batch_attempts(
    conn: AsyncConnection,
    job: ImportJob,
    batch: Batch,
    rejections: list[Rejection],
    mode: ImportMode,
    now: datetime,
    lease_until: datetime,
    order: BatchOrder | None,
) -> tuple[ImportJob, MergeOutcome]:
    # A batch locks its contacts in address order, the API in its own, so a concurrent edit
    # can deadlock with it; PostgreSQL then aborts one of the two whole, and a batch aborted
    # so left nothing behind: it is simply committed again.
    attempt = 1
    while True:
        try:
            async with conn.begin():
                return await _commit_batch_once(
                    conn, job, batch, rejections, mode, now, lease_until, order
                )
        except (DBAPIError, asyncpg.PostgresError) as error:
            # the driver's own error where a COPY ran on the driver's connection
            failed = error.orig if isinstance(error, DBAPIError) else error
            deadlock = getattr(failed, "sqlstate", None) == DEADLOCK_DETECTED
            if not deadlock or attempt >= DEADLOCK_ATTEMPTS:
                raise
            attempt += 1


async def _commit_batch_once(
    conn: AsyncConnection,
    job: ImportJob,
    batch: Batch,
    rejections: list[Rejection],
    mode: ImportMode,
    now: datetime,
    lease_until: datetime,
    order: BatchOrder | None,
) -> tuple[ImportJob, MergeOutcome]:
    ours = and_(
        JOBS.c.id == job.id,
        JOBS.c.attempts == job.attempts,
        JOBS.c.status == ImportStatus.RUNNING.value,
    )
    # Not waiting for the WAL flush is safe here: a server crash may lose the last commits,
    # never part of one, and never a later one without the earlier (the WAL is written in
    # order). A lost batch takes its resume point and counters with it, so the next claim
    # reads it again from the previous resume point and merges it once.
    await conn.execute(ASYNCHRONOUS_COMMIT)
    merged = await merge_batch(
        conn,
        user_id=job.user_id,
        list_id=job.list_id,
        mode=mode,
        contacts=batch.contacts,
        now=cast(datetime, to_db_time(now)),
        likely_new=batch.likely_new,
    )
    if not batch.last:
        await remember(await driver_of(conn), job.id, batch.contacts)
    if order is not None and order.follows is not None:
        await order.follows  # the previous batch holds its place: wait where PG sees it
        previous = {"key": _place(job.id, batch.start_offset)}
        await conn.execute(WAIT_FOR_PLACE, previous)
        await conn.execute(LEAVE_SHARED_PLACE, previous)
    # The job row locked before the counts: a worker that lost its lease finds it gone. FOR NO
    # KEY UPDATE, as the UPDATE below takes: other rows' foreign keys to the job (its
    # rejections') take FOR KEY SHARE, which FOR UPDATE would block.
    found = (
        await conn.execute(
            select(JOBS.c.committed_offset).where(ours).with_for_update(key_share=True)
        )
    ).first()
    if found is None:
        raise LeaseLost(f"import {job.id} was taken over by another worker")
    if found.committed_offset != batch.start_offset:
        raise BatchAbandoned(f"import {job.id}: the batch before this one did not commit")
    if order is not None and order.turn is not None:
        await order.turn  # … and was reported (an error there rolls this one back)
    await count_merged(conn, job.list_id, mode, merged)
    await record_rejections(conn, job.id, rejections)
    row = (
        await conn.execute(
            update(JOBS)
            .where(ours)
            .values(
                rows_read=JOBS.c.rows_read + batch.rows_read,
                inserted=JOBS.c.inserted + merged.inserted,
                updated=JOBS.c.updated + merged.updated,
                skipped=JOBS.c.skipped + merged.skipped,
                rejected=JOBS.c.rejected + len(rejections),
                committed_offset=batch.end_offset,
                committed_line=batch.end_line,
                delimiter=job.delimiter,
                lease_expires_at=to_db_time(lease_until),
                heartbeat_at=to_db_time(now),
            )
            .returning(JOBS)
        )
    ).one()
    outcome = MergeOutcome(merged.inserted, merged.updated, merged.skipped, duplicates=[])
    return to_job(row._mapping), outcome
