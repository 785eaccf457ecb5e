"""A worker killed mid-import: the job is resumed after its last committed batch, nothing is
counted twice. And `openmailer import`, which runs the same code in its own process."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from openmailer.adapters.bootstrap import build_audience, open_database
from openmailer.adapters.cli import main
from openmailer.adapters.db import import_batches
from openmailer.adapters.settings import Settings
from openmailer.core.accounts.service import AccountsPorts as Accounts
from openmailer.core.imports.collector import RUN_THRESHOLD
from openmailer.core.imports.model import ImportJob
from openmailer.core.imports.service import ImportsService
from tests.integration.accounts.accounts_helpers import Caller, engine_of
from tests.integration.audience.audience_helpers import principal_of
from tests.integration.imports.import_helpers import (
    assert_counts_fresh,
    contacts_of,
    create_list,
    csv_bytes,
    rejections,
    upload,
)

pytestmark = pytest.mark.integration


class WorkerKilled(Exception):
    pass


def killed_after_first_batch(job: ImportJob) -> None:
    raise WorkerKilled


async def test_a_job_left_running_resumes_after_its_last_batch_once_the_lease_expires(
    client: httpx.AsyncClient, accounts: Accounts, caller: Caller, imports: ImportsService
) -> None:
    list_id = await create_list(client, caller)
    body = csv_bytes(
        "email",
        *(f"r{n}@example.com" for n in range(4)),
        "r0@example.com",  # line 6: a duplicate of line 2, in the second batch
        "not an address",  # line 7
        *(f"r{n}@example.com" for n in range(4, 8)),
    )
    response = await upload(client, caller, body, list_id)
    assert response.status_code == 202
    job_id = response.json()["id"]
    with pytest.raises(WorkerKilled):
        await imports.run(job_id, batch_rows=3, on_progress=killed_after_first_batch)
    engine = engine_of(accounts)
    half = (await client.get(f"/api/v1/imports/{job_id}", headers=caller.headers)).json()
    assert (half["status"], half["rows_read"], half["inserted"]) == ("RUNNING", 3, 3)
    assert await assert_counts_fresh(engine, list_id) == (3, 3)  # the batch and its counts
    assert await imports.run(job_id) is None  # the lease still holds: no second runner
    assert job_id not in await imports.reclaim()
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE import_jobs SET lease_expires_at = now() - interval '1 minute'"
                " WHERE id = :id"
            ),
            {"id": job_id},
        )
    assert job_id in await imports.reclaim()
    before, during = gc.get_threshold(), []
    finished = await imports.run(
        job_id, batch_rows=3, on_progress=lambda job: during.append(gc.get_threshold()[0])
    )
    assert finished is not None and finished.status.value == "COMPLETED"
    # the collector's young generation enlarged while the batches ran (core/imports/collector)
    assert before[0] < RUN_THRESHOLD
    assert set(during) == {RUN_THRESHOLD} and gc.get_threshold() == before
    counters = finished.counters
    assert (counters.rows_read, counters.inserted, counters.rejected) == (10, 8, 2)
    assert finished.attempts == 2
    assert sorted(await rejections(client, caller, job_id)) == [6, 7]
    assert len(await contacts_of(engine, caller.user.id)) == 8
    assert await assert_counts_fresh(engine, list_id) == (8, 8)
    async with engine.connect() as conn:
        left = await conn.scalar(
            text(
                "SELECT (SELECT count(*) FROM import_uploads WHERE job_id = :id)"
                " + (SELECT count(*) FROM import_seen_addresses WHERE job_id = :id)"
            ),
            {"id": job_id},
        )
    assert left == 0  # the upload and the seen addresses go when the job ends


async def test_a_batch_lost_with_its_asynchronous_commit_is_redone_and_counted_once(
    client: httpx.AsyncClient,
    accounts: Accounts,
    caller: Caller,
    imports: ImportsService,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A batch commits without waiting for the WAL flush, so a server crash can lose it: what is
    lost is the whole batch with its resume point (here: the worker dies inside its
    transaction), and the next run merges it once."""
    list_id = await create_list(client, caller)
    body = csv_bytes(
        "email,tags",
        *(f"s{n}@example.com,first" for n in range(3)),
        "s0@example.com,again",  # line 5: a duplicate of line 2, in the lost batch
        "s3@example.com,first",
        "s4@example.com,first",
    )
    job_id = (await upload(client, caller, body, list_id)).json()["id"]
    commit_modes: list[str] = []
    record = import_batches.record_rejections

    async def dies_in_the_second_batch(conn: AsyncConnection, *args: Any) -> None:
        commit_modes.append(str(await conn.scalar(text("SHOW synchronous_commit"))))
        await record(conn, *args)
        if len(commit_modes) == 2:
            raise WorkerKilled

    monkeypatch.setattr(import_batches, "record_rejections", dies_in_the_second_batch)
    with pytest.raises(WorkerKilled):
        await imports.run(job_id, batch_rows=3)
    assert commit_modes == ["off", "off"]
    engine = engine_of(accounts)
    assert await assert_counts_fresh(engine, list_id) == (3, 3)  # the first batch only
    monkeypatch.setattr(import_batches, "record_rejections", record)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE import_jobs SET lease_expires_at = now() - interval '1 minute'"
                " WHERE id = :id"
            ),
            {"id": job_id},
        )
    finished = await imports.run(job_id, batch_rows=3)
    assert finished is not None and finished.status.value == "COMPLETED"
    counters = finished.counters
    assert (counters.rows_read, counters.inserted, counters.updated, counters.rejected) == (
        6,
        5,
        0,
        1,
    )
    assert sorted(await rejections(client, caller, job_id)) == [5]
    contacts = await contacts_of(engine, caller.user.id)
    assert len(contacts) == 5 and contacts["s0@example.com"]["tags"] == ["first"]
    assert await assert_counts_fresh(engine, list_id) == (5, 5)


def test_the_import_command_runs_a_file_with_a_mapping(
    cli_env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    username = f"importer_{id(tmp_path)}"
    assert (
        main(
            [
                "users",
                "create",
                "--username",
                username,
                "--email",
                f"{username}@example.com",
                "--password",
                "a long password",
            ]
        )
        == 0
    )

    async def make_list() -> None:
        async with open_database(cli_env) as database:
            from openmailer.adapters.db.users import SqlAlchemyUserRepository

            user = await SqlAlchemyUserRepository(database.engine).find_by_login(username)
            assert user is not None
            await build_audience(database).create_list(principal_of(user), "cli list")

    asyncio.run(make_list())
    path = tmp_path / "people.csv"
    path.write_bytes(csv_bytes("Mail;Name", "one@example.com;One", "two@example.com;Two", "bad;X"))
    capsys.readouterr()
    argv = ["import", str(path), "--user", username, "--list", "cli list"]
    assert main([*argv, "--map", "Mail=email", "--map", "Name=first_name"]) == 0
    out = capsys.readouterr().out
    assert "COMPLETED" in out
    assert "rows read 3, inserted 2, updated 0, skipped 0, rejected 1" in out
    assert main([*argv, "--map", "Nope=email"]) == 1
    assert "no column 'Nope'" in capsys.readouterr().out
    assert main(["import", str(path), "--user", username, "--list", "no such list"]) == 1
    assert "no user" in capsys.readouterr().out
