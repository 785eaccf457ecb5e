"""Two batches of one import merge at once, on two connections, and still commit in file order:
the later one waits for the earlier one's commit, and rolls back when that one failed."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from openmailer.adapters.db import import_batches
from openmailer.core.accounts.service import AccountsPorts as Accounts
from openmailer.core.imports.service import ImportsService
from tests.integration.accounts.accounts_helpers import Caller, engine_of
from tests.integration.imports.import_helpers import (
    assert_counts_fresh,
    contacts_of,
    create_list,
    csv_bytes,
    rejections,
    upload,
)

pytestmark = pytest.mark.integration

JOB_PROGRESS = text("SELECT committed_line, inserted FROM import_jobs WHERE id = :id")


class WorkerKilled(Exception):
    pass


async def test_the_next_batch_merges_while_the_first_is_held_and_commits_after_it(
    client: httpx.AsyncClient,
    accounts: Accounts,
    caller: Caller,
    imports: ImportsService,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    list_id = await create_list(client, caller)
    body = csv_bytes(
        "email",
        *(f"p{n}@example.com" for n in range(4)),
        "p1@example.com",  # line 6: a duplicate of line 3, found before its batch merges
        *(f"p{n}@example.com" for n in range(4, 7)),
    )
    job_id = (await upload(client, caller, body, list_id)).json()["id"]
    merge = import_batches.merge_batch
    events: list[str] = []
    second_merged = asyncio.Event()

    async def merge_and_log(conn: AsyncConnection, **arguments: Any) -> Any:
        if not arguments["contacts"]:  # the file's last, empty batch
            return await merge(conn, **arguments)
        first_line = arguments["contacts"][0].line
        merged = await merge(conn, **arguments)
        events.append(f"merged {first_line}")
        if first_line == 2:  # the first batch waits until the second one has merged
            await asyncio.wait_for(second_merged.wait(), 10)
        else:
            second_merged.set()
        return merged

    monkeypatch.setattr(import_batches, "merge_batch", merge_and_log)
    progress: list[tuple[int, int]] = []
    finished = await imports.run(
        job_id,
        batch_rows=4,
        on_progress=lambda job: progress.append((job.committed_line, job.counters.inserted)),
    )
    assert finished is not None and finished.status.value == "COMPLETED"
    # the first batch could only commit once the second had merged (or timed out)
    assert sorted(events[:2]) == ["merged 2", "merged 7"]
    assert progress[:2] == [(5, 4), (9, 7)]  # then committed in file order
    assert (finished.counters.inserted, finished.counters.rejected) == (7, 1)
    assert await rejections(client, caller, job_id) == {6: "duplicate of line 3 (same address)"}
    assert await assert_counts_fresh(engine_of(accounts), list_id) == (7, 7)


async def test_a_batch_merged_after_a_failed_one_rolls_back_and_the_resume_redoes_both(
    client: httpx.AsyncClient,
    accounts: Accounts,
    caller: Caller,
    imports: ImportsService,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    list_id = await create_list(client, caller)
    body = csv_bytes(
        "email",
        *(f"q{n}@example.com" for n in range(3)),
        "q0@example.com",  # line 5: a duplicate of line 2, remembered before the failure
        *(f"q{n}@example.com" for n in range(3, 8)),
    )
    job_id = (await upload(client, caller, body, list_id)).json()["id"]
    record = import_batches.record_rejections
    merge = import_batches.merge_batch
    second_merged = asyncio.Event()

    async def merge_and_signal(conn: AsyncConnection, **arguments: Any) -> Any:
        merged = await merge(conn, **arguments)
        if arguments["contacts"] and arguments["contacts"][0].line != 2:
            second_merged.set()
        return merged

    async def first_batch_dies(conn: AsyncConnection, job: int, refused: Any) -> None:
        await asyncio.wait_for(second_merged.wait(), 10)
        raise WorkerKilled

    monkeypatch.setattr(import_batches, "merge_batch", merge_and_signal)
    monkeypatch.setattr(import_batches, "record_rejections", first_batch_dies)
    with pytest.raises(WorkerKilled):
        await imports.run(job_id, batch_rows=4)
    engine = engine_of(accounts)
    assert await contacts_of(engine, caller.user.id) == {}  # neither batch committed
    async with engine.connect() as conn:
        assert tuple((await conn.execute(JOB_PROGRESS, {"id": job_id})).one()) == (0, 0)
        await conn.execute(
            text(
                "UPDATE import_jobs SET lease_expires_at = now() - interval '1 minute'"
                " WHERE id = :id"
            ),
            {"id": job_id},
        )
        await conn.commit()
    monkeypatch.setattr(import_batches, "record_rejections", record)
    finished = await imports.run(job_id, batch_rows=4)
    assert finished is not None and finished.status.value == "COMPLETED"
    assert (finished.counters.inserted, finished.counters.rejected) == (8, 1)
    assert await rejections(client, caller, job_id) == {5: "duplicate of line 2 (same address)"}
    assert len(await contacts_of(engine, caller.user.id)) == 8
    assert await assert_counts_fresh(engine, list_id) == (8, 8)
