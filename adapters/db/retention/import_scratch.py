"""The seen addresses left by import jobs that no longer exist.

`import_seen_addresses` is a running job's memory of the addresses it has read; the job drops
its rows when it ends. It has no foreign key to the job (migration 040: the check cost each
address read a lock on the job's row), so the rows of a job deleted before it ended, with its
user, stay behind until this sweep removes them. They hold addresses: they must not linger.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openmailer.adapters.db.retention.batches import LOCK_TIMEOUT, repeat_until_short
from openmailer.core.retention.model import RetentionRun

COUNT_ORPHANS = text(
    "SELECT count(*) FROM import_seen_addresses s"
    " WHERE NOT EXISTS (SELECT 1 FROM import_jobs j WHERE j.id = s.job_id)"
)
DELETE_ORPHANS = text(
    "DELETE FROM import_seen_addresses WHERE ctid = ANY(ARRAY(SELECT s.ctid"
    " FROM import_seen_addresses s"
    " WHERE NOT EXISTS (SELECT 1 FROM import_jobs j WHERE j.id = s.job_id) LIMIT :size))"
).bindparams(bindparam("size"))


async def purge_orphaned_seen_addresses(
    engine: AsyncEngine, run: RetentionRun
) -> Mapping[str, int]:
    if run.dry_run:
        async with engine.connect() as conn:
            return {"import_seen_addresses": int(await conn.scalar(COUNT_ORPHANS) or 0)}

    async def batch(conn: AsyncConnection) -> int:
        await conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
        result = await conn.execute(DELETE_ORPHANS, {"size": run.batch_size})
        return int(result.rowcount)

    removed = await repeat_until_short(engine, batch, run.batch_size)
    return {"import_seen_addresses": removed}
