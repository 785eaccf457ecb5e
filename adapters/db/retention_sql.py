"""What the retention jobs' statements share: each user's cutoff, and bounded batches.

The policy (core/retention/policy.py) turns a choice into days; here every finite choice becomes
one (choice, cutoff) pair bound as two arrays, so a job's statement joins its rows' owners to
their cutoff in one pass. A user without a `user_retention_settings` row has the default choice;
a "forever" choice has no pair, so that user's rows never join and are never aged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openmailer.core.retention.policy import (
    CampaignReports,
    ClickLogs,
    ContactHistory,
    cutoff,
    days,
)

Choice = CampaignReports | ClickLogs | ContactHistory

_JOIN = """
LEFT JOIN user_retention_settings settings ON settings.user_id = {owner}
JOIN unnest(CAST(:cutoff_choices AS TEXT[]), CAST(:cutoff_instants AS TIMESTAMP[]))
  AS cutoff(choice, before) ON cutoff.choice = coalesce(settings.{setting}, :cutoff_default)
"""


def cutoff_join(setting: str, owner: str) -> str:
    """A JOIN giving each row of `owner`'s user `cutoff.before`, the instant before which its
    rows have aged (bind `cutoff_parameters`). `setting` is a column of user_retention_settings,
    `owner` an SQL expression: both constants of the calling module, never input."""
    return _JOIN.format(setting=setting, owner=owner)


def cutoff_parameters(
    now: datetime,
    choices: type[CampaignReports] | type[ClickLogs] | type[ContactHistory],
    default: Choice,
) -> dict[str, object]:
    finite = [(choice.value, age) for choice in choices if (age := days(choice)) is not None]
    return {
        "cutoff_choices": [choice for choice, _ in finite],
        "cutoff_instants": [cutoff(now, age) for _, age in finite],
        "cutoff_default": default.value,
    }


async def in_batches(
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
