"""CSV imports bound to their ports once: receiving an upload, showing jobs, running one.

A run claims the job under a lease, checks the whole file is text, then reads it in batches;
each batch commits with its counters and resume point, so a run killed between two batches is
resumed after the last one by the next claim (the lease expired), never counted twice.

Three batches are under way at once: one is read (parsed, checked) while two merge on their
own connections. Batches commit in file order: the later one merges, then waits for its turn,
which comes when the earlier one has committed (or never: an error rolls the later one back).
Duplicates across batches are found before a batch merges, in file order too (`seen`).
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing, suppress
from dataclasses import dataclass, replace
from datetime import timedelta

from openmailer.core.accounts.model import Principal
from openmailer.core.errors import DomainError, NotFound, ValidationError
from openmailer.core.imports import rows
from openmailer.core.imports.collector import fewer_collections
from openmailer.core.imports.model import (
    Batch,
    BatchOrder,
    ImportJob,
    ImportMode,
    ImportStatus,
    NewImportJob,
    Rejection,
    StagedContact,
)
from openmailer.core.imports.seen import RunMemory
from openmailer.core.pages import KeysetPage, Page, decode_cursor, encode_cursor
from openmailer.core.ports.accounts import Clock
from openmailer.core.ports.audience import ContactErasures, EmailAddresses
from openmailer.core.ports.imports import ImportQueue, ImportStore

LEASE = timedelta(minutes=2)
LOST_MESSAGE_AFTER = timedelta(minutes=5)
MAX_ATTEMPTS = 5
BATCH_ROWS = 25_000  # two of them merge at once: smaller batches overlap sooner
# sizes the run's memory of addresses for the file (a file of shorter rows only grows it)
BYTES_PER_ROW_AT_LEAST = 32
MERGING_AT_ONCE = 2  # the database's share of two cores, while the reader keeps a third busy
ERASED_REASON = "this address was erased (GDPR) and is not added again"


class PayloadTooLarge(DomainError):
    code = "upload_too_large"


class BatchAbandoned(DomainError):
    """An earlier batch of the run failed: this one, merged but not committed, rolls back."""

    code = "batch_abandoned"


class LeaseLost(DomainError):
    """Another worker took the job over (this one was presumed dead): stop without writing."""

    code = "lease_lost"


@dataclass(frozen=True, slots=True)
class FormField:
    name: str
    value: str


@dataclass(frozen=True, slots=True)
class FileData:
    data: bytes
    file_name: str | None


FormPart = FormField | FileData


@dataclass(frozen=True)
class ImportsPorts:
    store: ImportStore
    queue: ImportQueue
    addresses: EmailAddresses
    erasures: ContactErasures
    clock: Clock
    max_upload_bytes: int


def job_of_fields(fields: dict[str, str], file_name: str | None) -> NewImportJob:
    def refuse(field: str, detail: str) -> ValidationError:
        return ValidationError(detail, field=field, code="invalid_field")

    raw_list = fields.get("list_id", "")
    if not raw_list.isascii() or not raw_list.isdigit() or not 0 < int(raw_list) < 2**53:
        raise refuse("list_id", "list_id is required: the id of one of your lists")
    try:
        mode = ImportMode(fields.get("mode", ImportMode.SUBSCRIBE.value))
    except ValueError:
        raise refuse("mode", "mode is one of subscribe, update_only, unsubscribe") from None
    mapping: object = {}
    if fields.get("mapping"):
        try:
            mapping = json.loads(fields["mapping"])
        except ValueError:
            raise refuse("mapping", "mapping is a JSON object of column to target") from None
    if not isinstance(mapping, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in mapping.items()
    ):
        raise refuse("mapping", "mapping is a JSON object of column names to target names")
    delimiter = fields.get("delimiter") or None
    if delimiter == "\\t":
        delimiter = "\t"
    if delimiter is not None and delimiter not in rows.DELIMITERS:
        raise refuse("delimiter", "delimiter is one of ',', ';' or a tab (\\t); omit to detect")
    return NewImportJob(
        list_id=int(raw_list),
        mode=mode,
        mapping=rows.check_mapping({key.strip(): value for key, value in mapping.items()}),
        delimiter=delimiter,
        file_name=(file_name or "")[:255] or None,
    )


class ImportsService:
    def __init__(self, ports: ImportsPorts) -> None:
        self.ports = ports

    async def receive(self, principal: Principal, form: AsyncIterator[FormPart]) -> ImportJob:
        """Store the upload as it streams in (PayloadTooLarge past the limit, nothing kept),
        then the job, and hand it to a worker."""
        return await self.receive_for(principal.user.id, form)

    async def receive_for(self, user_id: int, form: AsyncIterator[FormPart]) -> ImportJob:
        p = self.ports
        fields: dict[str, str] = {}
        file_name: str | None = None
        got_file = False
        async with p.store.upload() as upload:
            async for part in form:
                if isinstance(part, FormField):
                    fields[part.name] = part.value
                    continue
                got_file = True
                file_name = file_name or part.file_name
                if upload.size + len(part.data) > p.max_upload_bytes:
                    raise PayloadTooLarge(
                        f"the file is larger than the limit of {p.max_upload_bytes} bytes"
                    )
                await upload.write(part.data)
            if not got_file:
                raise ValidationError("send the CSV as the `file` part", field="file")
            draft = job_of_fields(fields, file_name)
            if not await p.store.list_exists(user_id, draft.list_id):
                raise NotFound(f"no such list: {draft.list_id}", code="list_not_found")
            job = await upload.create_job(user_id, draft, at=p.clock.now())
        p.queue.enqueue(job.id)
        return job

    async def owner_and_list(self, login: str, list_name: str) -> tuple[int, int]:
        """The user (by username or email) and their list by name, for the import command."""
        found = await self.ports.store.owner_and_list(login, list_name)
        if found is None:
            raise NotFound(f"no user {login!r} with a list named {list_name!r}")
        return found

    async def get(self, principal: Principal, job_id: int) -> ImportJob:
        job = await self.ports.store.get(principal.user.id, job_id)
        if job is None:
            raise NotFound(f"no such import: {job_id}", code="import_not_found")
        return job

    async def page(self, principal: Principal, *, limit: int, offset: int) -> Page[ImportJob]:
        return await self.ports.store.page(principal.user.id, limit=limit, offset=offset)

    async def rejections(
        self, principal: Principal, job_id: int, *, cursor: str | None, limit: int
    ) -> KeysetPage[Rejection]:
        after = None if cursor is None else decode_cursor(cursor, arity=1)[0]
        if after is not None and not isinstance(after, int):
            raise ValidationError("not a cursor of this collection", field="after")
        found = await self.ports.store.rejections(
            principal.user.id, job_id, after_line=after, limit=limit + 1
        )
        if found is None:
            raise NotFound(f"no such import: {job_id}", code="import_not_found")
        items = found[:limit]
        more = len(found) > limit
        return KeysetPage(
            items=items, limit=limit, next_cursor=encode_cursor([items[-1].line]) if more else None
        )

    async def reclaim(self) -> list[int]:
        """Hand again to a worker the jobs whose worker died or whose message was lost."""
        now = self.ports.clock.now()
        job_ids = await self.ports.store.reclaimable(
            now=now, queued_before=now - LOST_MESSAGE_AFTER
        )
        for job_id in job_ids:
            self.ports.queue.enqueue(job_id)
        return job_ids

    async def run(
        self,
        job_id: int,
        *,
        batch_rows: int = BATCH_ROWS,
        on_progress: Callable[[ImportJob], None] | None = None,
    ) -> ImportJob | None:
        """Run (or resume) the job; None when it is not ours to run (finished, or held)."""
        p = self.ports
        now = p.clock.now()
        job = await p.store.claim(job_id, now=now, lease_until=now + LEASE)
        if job is None:
            return None
        if job.attempts > MAX_ATTEMPTS:
            return await p.store.finish(
                job, error=f"gave up after {MAX_ATTEMPTS} attempts", now=now
            )
        try:
            if job.committed_offset == 0:
                async with aclosing(p.store.chunks(job.id)) as whole_file:
                    await rows.check_text(whole_file)
            if job.delimiter is None:
                job = replace(job, delimiter=rows.detect_delimiter(await _head(p.store, job.id)))
            with fewer_collections():
                job = await self._import_batches(job, batch_rows, on_progress)
        except rows.UnreadableFile as error:
            return await p.store.finish(job, error=error.detail, now=p.clock.now())
        return await p.store.finish(job, error=None, now=p.clock.now())

    async def _import_batches(
        self,
        job: ImportJob,
        batch_rows: int,
        on_progress: Callable[[ImportJob], None] | None,
    ) -> ImportJob:
        p = self.ports
        assert job.delimiter is not None
        async with (
            aclosing(p.store.chunks(job.id)) as chunks,
            aclosing(
                rows.read_batches(
                    chunks,
                    delimiter=job.delimiter,
                    mapping=job.mapping,
                    addresses=p.addresses,
                    batch_size=batch_rows,
                    skip_to_offset=job.committed_offset,
                )
            ) as batches,
        ):
            # The next batch is read (parsed, checked) while the previous ones commit.
            reading = asyncio.ensure_future(anext(batches, None))
            merging: deque[tuple[asyncio.Task[ImportJob], asyncio.Future[None]]] = deque()
            futures: list[asyncio.Future[None]] = []  # of every batch's order, set or not yet
            previous: BatchOrder | None = None
            turn: asyncio.Future[None] | None = None  # the last batch committed and reported
            memory = RunMemory(
                resumed=job.committed_offset > 0,
                expected=(job.upload_bytes - job.committed_offset) // BYTES_PER_ROW_AT_LEAST,
            )
            try:
                while (batch := await reading) is not None:
                    reading = asyncio.ensure_future(anext(batches, None))
                    staged = await self._first_occurrences(job, batch, memory)
                    loop = asyncio.get_running_loop()
                    order = BatchOrder(
                        placed=loop.create_future(),
                        follows=None if previous is None else previous.placed,
                        turn=turn,
                    )
                    turn = loop.create_future()
                    futures += [order.placed, turn]
                    committing = asyncio.ensure_future(self._commit(job, staged, order, memory))
                    merging.append((committing, turn))
                    previous = order
                    if len(merging) == MERGING_AT_ONCE:
                        job = await _committed(*merging.popleft(), on_progress)
                while merging:
                    job = await _committed(*merging.popleft(), on_progress)
            except BaseException:
                await _abandon([task for task, _ in merging], futures)
                raise
            finally:
                if not reading.done():
                    reading.cancel()
                    with suppress(asyncio.CancelledError, rows.UnreadableFile):
                        await reading
        return job

    async def _first_occurrences(self, job: ImportJob, batch: Batch, memory: RunMemory) -> Batch:
        """The batch without the addresses this user erased nor the file's later lines of an
        address (both listed as rejected); its addresses held by the run's memory."""
        p = self.ports
        erased = await p.erasures.erased_among(
            job.user_id, [contact.email for contact in batch.contacts]
        )
        allowed = [c for c in batch.contacts if c.email.lower() not in erased]
        refused = [
            Rejection(c.line, ERASED_REASON, c.email)
            for c in batch.contacts
            if c.email.lower() in erased
        ]

        async def remembered(contacts: list[StagedContact]) -> dict[int, int]:
            return await p.store.remembered_lines(job, contacts)

        kept, duplicates = await memory.first_occurrences(batch.end_offset, allowed, remembered)
        return replace(
            batch,
            contacts=kept,
            rejections=[*batch.rejections, *refused, *duplicates],
            likely_new=memory.likely_new,
        )

    async def _commit(
        self, job: ImportJob, batch: Batch, order: BatchOrder, memory: RunMemory
    ) -> ImportJob:
        now = self.ports.clock.now()
        committed, outcome = await self.ports.store.commit_batch(
            job,
            batch,
            batch.rejections,
            mode=job.mode,
            now=now,
            lease_until=now + LEASE,
            order=order,
        )
        memory.committed(batch.end_offset, all_new=outcome.inserted == len(batch.contacts))
        return committed


async def _committed(
    task: asyncio.Task[ImportJob],
    next_turn: asyncio.Future[None],
    on_progress: Callable[[ImportJob], None] | None,
) -> ImportJob:
    """The batch's job once committed and reported; the next batch's turn then comes."""
    job = await task
    if on_progress is not None:
        on_progress(job)
    next_turn.set_result(None)
    return job


async def _abandon(
    merging: list[asyncio.Task[ImportJob]], turns: list[asyncio.Future[None]]
) -> None:
    """Roll back the batches still merging: their turns never come."""
    for turn in turns:
        if not turn.done():
            turn.set_exception(BatchAbandoned("an earlier batch of this import failed"))
    for task in merging:
        with suppress(Exception):
            await task
    for turn in turns:  # retrieved, so that none is reported as never retrieved
        if not turn.cancelled():
            turn.exception()


async def _head(store: ImportStore, job_id: int) -> bytes:
    head = b""
    async with aclosing(store.chunks(job_id)) as chunks:
        async for chunk in chunks:
            head += chunk
            if len(head) >= rows.SNIFF_BYTES:
                break
    return head[: rows.SNIFF_BYTES]


__all__ = ["ImportStatus", "ImportsPorts", "ImportsService"]
