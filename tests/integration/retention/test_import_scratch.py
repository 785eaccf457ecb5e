"""The seen addresses of an import job deleted before it ended (with its user) are swept; a
running job's are kept (migration 040 took the foreign key that cascaded them away)."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.retention.retention_helpers import Seed, job_named, run

pytestmark = pytest.mark.integration

SEEN = "SELECT job_id, count(*) FROM import_seen_addresses GROUP BY job_id ORDER BY job_id"


async def running_job_with_seen_addresses(seed: Seed, addresses: int) -> int:
    user = await seed.user()
    list_id = await seed.contact_list(user)
    job = await seed.one(
        "INSERT INTO import_jobs (user_id, list_id, status, mode, mapping, upload_bytes,"
        " created_at) VALUES (:u, :l, 'RUNNING', 'subscribe', '{}', 10, now()) RETURNING id",
        u=user,
        l=list_id,
    )
    await seed.one(
        "WITH added AS (INSERT INTO import_seen_addresses"
        " (job_id, address_key, line_number, address)"
        " SELECT :job, hashtextextended('a' || n || '@x.com', 0), n + 1, 'a' || n || '@x.com'"
        " FROM generate_series(1, :n) AS n RETURNING 1) SELECT count(*) FROM added",
        job=job,
        n=addresses,
    )
    return job


async def test_only_the_rows_of_deleted_jobs_are_swept_in_batches(engine: AsyncEngine) -> None:
    seed = Seed(engine)
    kept = await running_job_with_seen_addresses(seed, 4)
    deleted = await running_job_with_seen_addresses(seed, 7)
    await seed.one(
        "WITH gone AS (DELETE FROM import_jobs WHERE id = :j RETURNING 1)"
        " SELECT count(*) FROM gone",
        j=deleted,
    )
    assert await seed.rows(SEEN) == [(kept, 4), (deleted, 7)]
    sweep = job_named("import-scratch")

    dry = await run(sweep, engine, dry_run=True, batch_size=3)
    assert await seed.rows(SEEN) == [(kept, 4), (deleted, 7)]
    real = await run(sweep, engine, batch_size=3)
    again = await run(sweep, engine, batch_size=3)

    assert dry == real == {"import_seen_addresses": 7}
    assert again == {"import_seen_addresses": 0}
    assert await seed.rows(SEEN) == [(kept, 4)]
