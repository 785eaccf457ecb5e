"""The monthly reset of `users.monthly_emails_sent` (the spec: the 1st at 02:00).

The rule (see `monthly_quota.py`): reset only users whose count is for a month before the
run's month (or undated), and date the zero to the run's month. A send after midnight on the
1st already counted itself for the new month, so a late run leaves it alone; a second run finds
nothing to reset. A user whose row a send holds locked is skipped: that send dates the count
to the new month itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import cast

from sqlalchemy import Table, any_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openmailer.adapters.db.list_counts import id_array
from openmailer.adapters.db.retention.batches import in_batches
from openmailer.adapters.db.tables.users import User
from openmailer.core.retention.model import RetentionRun

USERS = cast(Table, User.__table__)


def month_of(run: RetentionRun) -> date:
    return run.now.date().replace(day=1)


async def reset_monthly_counts(engine: AsyncEngine, run: RetentionRun) -> Mapping[str, int]:
    month = month_of(run)
    counted = USERS.c.monthly_emails_month
    candidates = select(USERS.c.id).where(or_(counted.is_(None), counted < month))

    async def act(conn: AsyncConnection, ids: Sequence[int]) -> int:
        result = await conn.execute(
            update(USERS)
            .where(USERS.c.id == any_(id_array(ids)))
            .values(monthly_emails_sent=0, monthly_emails_month=month)
        )
        return int(result.rowcount)

    return {"users": await in_batches(engine, run, USERS, candidates, act)}
