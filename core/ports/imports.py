"""Ports of CSV imports: where jobs, uploads and rejected rows are kept, and the queue that
hands a job to a worker. Every read takes the owner's `user_id` (another user's job is absent).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol

from openmailer.core.imports.model import (
    Batch,
    BatchOrder,
    ImportJob,
    ImportMode,
    MergeOutcome,
    NewImportJob,
    Rejection,
    StagedContact,
)
from openmailer.core.pages import Page


class UploadWriter(Protocol):
    """One upload, written in one transaction: chunks first, the job last (both or neither)."""

    async def write(self, data: bytes) -> None:
        """Append bytes; stored in chunks of about a MiB as they fill."""
        ...

    @property
    def size(self) -> int: ...

    async def create_job(self, user_id: int, job: NewImportJob, *, at: datetime) -> ImportJob:
        """The job row, QUEUED, for what was written."""
        ...


class ImportStore(Protocol):
    def upload(self) -> AbstractAsyncContextManager[UploadWriter]:
        """Commits when the block ends normally, rolls back (nothing stored) otherwise."""
        ...

    async def list_exists(self, user_id: int, list_id: int) -> bool: ...

    async def owner_and_list(self, login: str, list_name: str) -> tuple[int, int] | None:
        """(user id, list id) of the user with that username or email and their list so named."""
        ...

    async def get(self, user_id: int, job_id: int) -> ImportJob | None: ...

    async def page(self, user_id: int, *, limit: int, offset: int) -> Page[ImportJob]: ...

    async def rejections(
        self, user_id: int, job_id: int, *, after_line: int | None, limit: int
    ) -> list[Rejection] | None:
        """By line number after `after_line`; None when the user has no such job."""
        ...

    async def claim(self, job_id: int, *, now: datetime, lease_until: datetime) -> ImportJob | None:
        """The job, RUNNING under a new lease (its `attempts` one more), when it is QUEUED or
        RUNNING with an expired lease; None otherwise (finished, or another worker holds it)."""
        ...

    async def reclaimable(self, *, now: datetime, queued_before: datetime) -> list[int]:
        """Jobs to hand to a worker again: RUNNING with an expired lease, or QUEUED since
        before `queued_before` (their message was lost)."""
        ...

    def chunks(self, job_id: int) -> AsyncGenerator[bytes, None]:
        """The upload from its first byte, a chunk at a time."""
        ...

    async def remembered_lines(
        self, job: ImportJob, contacts: list[StagedContact]
    ) -> dict[int, int]:
        """For those of `contacts` whose address a committed batch of the job remembered: the
        line it was first read on, keyed by the contact's own line."""
        ...

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
        """In one transaction: the batch's contacts merged (set-based), their memberships, their
        addresses remembered for the later batches (`remembered_lines`) unless it is the last,
        then, once the previous batch (`order`) has committed, the list counts moved, the rejections
        recorded, the counters and the resume point advanced and the lease extended.
        LeaseLost (nothing written) when the job is no longer this attempt's; BatchAbandoned
        when the previous batch did not commit (or `order` says so)."""
        ...

    async def finish(self, job: ImportJob, *, error: str | None, now: datetime) -> ImportJob:
        """COMPLETED (or FAILED with `error`); the upload and the seen addresses are dropped."""
        ...


class ImportQueue(Protocol):
    def enqueue(self, job_id: int) -> None:
        """Hand the job to a worker (no waiting for it)."""
        ...


__all__ = ["ImportQueue", "ImportStore", "UploadWriter"]
