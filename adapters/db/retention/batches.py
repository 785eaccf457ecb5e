"""Bounded batches: how every retention job changes rows without stalling the send path.

Each batch is its own short transaction: it locks at most `batch_size` candidate rows with
`FOR UPDATE SKIP LOCKED` (a row another transaction holds, a recipient being claimed, a user
whose quota is being taken, is left for the next run instead of waited for), acts on exactly
those ids, and commits. No table lock, no transaction longer than one batch. A batch waits at
most LOCK_TIMEOUT for a lock its action needs (a cascade's rows), then fails the job, which is
recorded and runs again next period.

A dry run counts the candidates and changes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import Select, Table, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openmailer.core.retention.model import RetentionRun

LOCK_TIMEOUT = "5s"

# Acts on one batch's locked ids inside its transaction; returns the rows it changed.
BatchAction = Callable[[AsyncConnection, Sequence[int]], Awaitable[int]]


async def count_candidates(engine: AsyncEngine, candidates: Select[Any]) -> int:
    async with engine.connect() as conn:
        found = await conn.scalar(select(func.count()).select_from(candidates.subquery()))
    return int(found or 0)


async def in_batches(
    engine: AsyncEngine,
    run: RetentionRun,
    table: Table,
    candidates: Select[Any],
    act: BatchAction,
) -> int:
    """`candidates` selects the ids (`table.c.id`) to act on; returns the rows changed, or
    with `run.dry_run` the number of candidates."""
    if run.dry_run:
        return await count_candidates(engine, candidates)
    batch = candidates.limit(run.batch_size).with_for_update(skip_locked=True, of=table)
    total = 0
    while True:
        async with engine.begin() as conn:
            await conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
            ids = list((await conn.scalars(batch)).all())
            changed = await act(conn, ids) if ids else 0
        total += changed
        # A short batch was the last; a batch that changed nothing would repeat forever.
        if len(ids) < run.batch_size or not changed:
            return total


async def repeat_until_short(
    engine: AsyncEngine, batch: Callable[[AsyncConnection], Awaitable[int]], size: int
) -> int:
    """Runs `batch` (which handles at most `size` rows and says how many) in a transaction of
    its own, again and again until one handles fewer than `size`; the rows handled in all."""
    total = 0
    while True:
        async with engine.begin() as conn:
            done = await batch(conn)
        total += done
        if done < size:
            return total
