"""`SqlAlchemyImportStore`: import jobs, their uploads and rejected rows on PostgreSQL.

An upload is written in one transaction: the job's id is taken from its sequence first, the
chunks follow as they stream in (their foreign key to the job is deferred to the commit), the
job row last, once the whole form is known. A failed or refused upload leaves nothing.
A batch's duplicates of earlier batches are looked up (`import_seen`) for the few addresses the
run's memory cannot rule out; then the batch commits (`import_batches`: its merge, its addresses
remembered, counts, rejections, counters and resume point, in file order with the batch merging
beside it).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, delete, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openmailer.adapters.db.import_batches import commit_batch
from openmailer.adapters.db.import_jobs import JOBS, to_job
from openmailer.adapters.db.import_merge import driver_of
from openmailer.adapters.db.import_seen import remembered_lines
from openmailer.adapters.db.list_counts import LISTS
from openmailer.adapters.db.tables.imports import (
    ImportRejection,
    ImportSeenAddress,
    ImportUpload,
)
from openmailer.adapters.db.tables.users import User as UserRow
from openmailer.adapters.db.users import to_db_time
from openmailer.core.imports.model import (
    Batch,
    BatchOrder,
    ImportJob,
    ImportMode,
    ImportStatus,
    MergeOutcome,
    NewImportJob,
    Rejection,
    StagedContact,
)
from openmailer.core.imports.service import LeaseLost
from openmailer.core.pages import Page

UPLOADS = cast(Table, ImportUpload.__table__)
REJECTIONS = cast(Table, ImportRejection.__table__)
SEEN = cast(Table, ImportSeenAddress.__table__)
USERS = cast(Table, UserRow.__table__)
CHUNK_BYTES = 1024 * 1024


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

    async def remembered_lines(
        self, job: ImportJob, contacts: list[StagedContact]
    ) -> dict[int, int]:
        async with self._engine.connect() as conn:
            return await remembered_lines(await driver_of(conn), job.id, contacts)

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
        return await commit_batch(
            self._engine,
            job,
            batch,
            rejections,
            mode=mode,
            now=now,
            lease_until=lease_until,
            order=order,
        )

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
