"""`SqlAlchemyImportStore`: import jobs, their uploads and rejected rows on PostgreSQL.

An upload is written in one transaction: the job's id is taken from its sequence first, the
chunks follow as they stream in (their foreign key to the job is deferred to the commit), the
job row last, once the whole form is known. A failed or refused upload leaves nothing.
A batch's first occurrences are found and remembered first (`import_seen`, its own short
transaction, in file order); then the batch commits with its merge (`import_merge`), its
rejections, the job's counters and resume point, and only while the job is still the
committing attempt's (`attempts` unchanged) and the previous batch's resume point is the job's.
Two batches merge at once on two connections: the later one merges, then waits for its turn
(the earlier one committed) before it counts, locks the job row and commits.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, delete, func, or_, select, text, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openmailer.adapters.db.import_merge import (
    count_merged,
    driver_of,
    merge_batch,
    record_rejections,
)
from openmailer.adapters.db.import_seen import first_occurrences
from openmailer.adapters.db.list_counts import LISTS
from openmailer.adapters.db.tables.imports import (
    ImportJob as ImportJobRow,
)
from openmailer.adapters.db.tables.imports import (
    ImportRejection,
    ImportSeenAddress,
    ImportUpload,
)
from openmailer.adapters.db.tables.users import User as UserRow
from openmailer.adapters.db.users import from_db_time, to_db_time
from openmailer.core.imports.model import (
    Batch,
    BatchOrder,
    Counters,
    ImportJob,
    ImportMode,
    ImportStatus,
    MergeOutcome,
    NewImportJob,
    Rejection,
    StagedContact,
)
from openmailer.core.imports.service import BatchAbandoned, LeaseLost
from openmailer.core.pages import Page

JOBS = cast(Table, ImportJobRow.__table__)
UPLOADS = cast(Table, ImportUpload.__table__)
REJECTIONS = cast(Table, ImportRejection.__table__)
SEEN = cast(Table, ImportSeenAddress.__table__)
USERS = cast(Table, UserRow.__table__)
CHUNK_BYTES = 1024 * 1024
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


def to_job(row: RowMapping) -> ImportJob:
    return ImportJob(
        id=row["id"],
        user_id=row["user_id"],
        list_id=row["list_id"],
        status=ImportStatus(row["status"]),
        mode=ImportMode(row["mode"]),
        mapping=dict(row["mapping"]),
        delimiter=row["delimiter"],
        file_name=row["file_name"],
        upload_bytes=row["upload_bytes"],
        counters=Counters(
            rows_read=row["rows_read"],
            inserted=row["inserted"],
            updated=row["updated"],
            skipped=row["skipped"],
            rejected=row["rejected"],
        ),
        error=row["error"],
        committed_offset=row["committed_offset"],
        committed_line=row["committed_line"],
        attempts=row["attempts"],
        created_at=cast(datetime, from_db_time(row["created_at"])),
        started_at=from_db_time(row["started_at"]),
        finished_at=from_db_time(row["finished_at"]),
    )


class SqlAlchemyUploadWriter:
    def __init__(self, conn: AsyncConnection, job_id: int) -> None:
        self._conn = conn
        self._job_id = job_id
        self._buffer = bytearray()
        self._stored = 0
        self._seq = 0

    @property
    def size(self) -> int:
        return self._stored + len(self._buffer)

    async def write(self, data: bytes) -> None:
        self._buffer += data
        while len(self._buffer) >= CHUNK_BYTES:
            await self._store(bytes(self._buffer[:CHUNK_BYTES]))
            del self._buffer[:CHUNK_BYTES]

    async def _store(self, chunk: bytes) -> None:
        await self._conn.execute(
            UPLOADS.insert().values(
                job_id=self._job_id, seq=self._seq, start_offset=self._stored, data=chunk
            )
        )
        self._seq += 1
        self._stored += len(chunk)

    async def create_job(self, user_id: int, job: NewImportJob, *, at: datetime) -> ImportJob:
        if self._buffer:
            await self._store(bytes(self._buffer))
            self._buffer.clear()
        row = (
            await self._conn.execute(
                JOBS.insert()
                .values(
                    id=self._job_id,
                    user_id=user_id,
                    list_id=job.list_id,
                    status=ImportStatus.QUEUED.value,
                    mode=job.mode.value,
                    mapping=job.mapping,
                    delimiter=job.delimiter,
                    file_name=job.file_name,
                    upload_bytes=self._stored,
                    created_at=to_db_time(at),
                )
                .returning(JOBS)
            )
        ).one()
        return to_job(row._mapping)


class SqlAlchemyImportStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @asynccontextmanager
    async def upload(self) -> AsyncIterator[SqlAlchemyUploadWriter]:
        async with self._engine.begin() as conn:
            job_id = await conn.scalar(
                text("SELECT nextval(pg_get_serial_sequence('import_jobs', 'id'))")
            )
            yield SqlAlchemyUploadWriter(conn, int(job_id))

    async def list_exists(self, user_id: int, list_id: int) -> bool:
        async with self._engine.connect() as conn:
            found = await conn.scalar(
                select(LISTS.c.id).where(LISTS.c.id == list_id, LISTS.c.user_id == user_id)
            )
        return found is not None

    async def owner_and_list(self, login: str, list_name: str) -> tuple[int, int] | None:
        identifier = login.strip().lower()
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(USERS.c.id, LISTS.c.id.label("list_id"))
                    .join(LISTS, LISTS.c.user_id == USERS.c.id)
                    .where(
                        or_(
                            func.lower(USERS.c.username) == identifier,
                            func.lower(USERS.c.email) == identifier,
                        ),
                        LISTS.c.name == list_name,
                    )
                    .limit(1)
                )
            ).first()
        return None if row is None else (row.id, row.list_id)

    async def get(self, user_id: int, job_id: int) -> ImportJob | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(JOBS).where(JOBS.c.id == job_id, JOBS.c.user_id == user_id)
                )
            ).first()
        return None if row is None else to_job(row._mapping)

    async def page(self, user_id: int, *, limit: int, offset: int) -> Page[ImportJob]:
        owned = JOBS.c.user_id == user_id
        async with self._engine.connect() as conn:
            total = await conn.scalar(select(func.count()).select_from(JOBS).where(owned))
            rows = await conn.execute(
                select(JOBS).where(owned).order_by(JOBS.c.id.desc()).limit(limit).offset(offset)
            )
            items = [to_job(row._mapping) for row in rows]
        return Page(items=items, total=int(total or 0), limit=limit, offset=offset)

    async def rejections(
        self, user_id: int, job_id: int, *, after_line: int | None, limit: int
    ) -> list[Rejection] | None:
        async with self._engine.connect() as conn:
            owned = await conn.scalar(
                select(JOBS.c.id).where(JOBS.c.id == job_id, JOBS.c.user_id == user_id)
            )
            if owned is None:
                return None
            rows = await conn.execute(
                select(REJECTIONS)
                .where(REJECTIONS.c.job_id == job_id, REJECTIONS.c.line_number > (after_line or 0))
                .order_by(REJECTIONS.c.line_number)
                .limit(limit)
            )
            return [Rejection(row.line_number, row.reason, row.excerpt or "") for row in rows]

    async def claim(self, job_id: int, *, now: datetime, lease_until: datetime) -> ImportJob | None:
        claimable = or_(
            JOBS.c.status == ImportStatus.QUEUED.value,
            and_(
                JOBS.c.status == ImportStatus.RUNNING.value,
                JOBS.c.lease_expires_at < to_db_time(now),
            ),
        )
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    update(JOBS)
                    .where(JOBS.c.id == job_id, claimable)
                    .values(
                        status=ImportStatus.RUNNING.value,
                        attempts=JOBS.c.attempts + 1,
                        lease_expires_at=to_db_time(lease_until),
                        heartbeat_at=to_db_time(now),
                        started_at=func.coalesce(JOBS.c.started_at, to_db_time(now)),
                    )
                    .returning(JOBS)
                )
            ).first()
        return None if row is None else to_job(row._mapping)

    async def reclaimable(self, *, now: datetime, queued_before: datetime) -> list[int]:
        async with self._engine.connect() as conn:
            found = await conn.scalars(
                select(JOBS.c.id)
                .where(
                    or_(
                        and_(
                            JOBS.c.status == ImportStatus.RUNNING.value,
                            JOBS.c.lease_expires_at < to_db_time(now),
                        ),
                        and_(
                            JOBS.c.status == ImportStatus.QUEUED.value,
                            JOBS.c.created_at < to_db_time(queued_before),
                        ),
                    )
                )
                .order_by(JOBS.c.id)
            )
            return list(found)

    async def chunks(self, job_id: int) -> AsyncGenerator[bytes, None]:
        seq = 0
        async with self._engine.connect() as conn:
            while True:
                data = await conn.scalar(
                    select(UPLOADS.c.data).where(UPLOADS.c.job_id == job_id, UPLOADS.c.seq == seq)
                )
                if data is None:
                    return
                yield bytes(data)
                seq += 1

    async def first_occurrences(
        self, job: ImportJob, contacts: list[StagedContact], *, earlier: bool, remember: bool
    ) -> tuple[list[StagedContact], list[Rejection]]:
        async with self._engine.begin() as conn:
            await conn.execute(ASYNCHRONOUS_COMMIT)
            return await first_occurrences(
                await driver_of(conn), job.id, contacts, earlier=earlier, remember=remember
            )

    async def commit_batch(
        self,
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
        async with self._engine.connect() as conn:
            await conn.execute(HOLD_PLACE, {"key": _place(job.id, batch.end_offset)})
            await conn.commit()
            try:
                if order is not None and not order.placed.done():
                    order.placed.set_result(None)
                return await self._commit_batch_attempts(
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
        self,
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
                    return await self._commit_batch_once(
                        conn, job, batch, rejections, mode, now, lease_until, order
                    )
            except DBAPIError as error:
                deadlock = getattr(error.orig, "sqlstate", None) == DEADLOCK_DETECTED
                if not deadlock or attempt >= DEADLOCK_ATTEMPTS:
                    raise
                attempt += 1

    async def _commit_batch_once(
        self,
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
        )
        if order is not None and order.follows is not None:
            await order.follows  # the previous batch holds its place: wait where PG sees it
            previous = {"key": _place(job.id, batch.start_offset)}
            await conn.execute(WAIT_FOR_PLACE, previous)
            await conn.execute(LEAVE_SHARED_PLACE, previous)
        # The job row locked before the counts: a worker that lost its lease finds it gone.
        found = (
            await conn.execute(select(JOBS.c.committed_offset).where(ours).with_for_update())
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

    async def finish(self, job: ImportJob, *, error: str | None, now: datetime) -> ImportJob:
        status = ImportStatus.FAILED if error is not None else ImportStatus.COMPLETED
        values: dict[str, Any] = {
            "status": status.value,
            "error": error,
            "finished_at": to_db_time(now),
            "lease_expires_at": None,
        }
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    update(JOBS)
                    .where(JOBS.c.id == job.id, JOBS.c.attempts == job.attempts)
                    .values(values)
                    .returning(JOBS)
                )
            ).first()
            if row is None:
                raise LeaseLost(f"import {job.id} was taken over by another worker")
            await conn.execute(delete(UPLOADS).where(UPLOADS.c.job_id == job.id))
            await conn.execute(delete(SEEN).where(SEEN.c.job_id == job.id))
        return to_job(row._mapping)
