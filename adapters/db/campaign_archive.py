"""The monthly `archive-campaigns` retention job: campaigns in a final state (SENT, CANCELLED,
FAILED) older than their owner's campaign-report choice (1 or 2 years; "forever" keeps them)
move to `email_campaigns_archive`, and their detail rows go.

A campaign's age is counted from `sent_at` (when its sending started), or from `created_at`
for one never sent (cancelled while scheduled): the report describes the send, so it ages
from the send. A SENDING, SCHEDULED or PAUSED campaign is never taken; a campaign whose row
another transaction holds is skipped, not waited for, and taken by the next run.

One campaign at a time, each step its own short transaction, so a campaign of a million
recipients is a few hundred transactions of `batch_size` rows, never one:

1. the archive row: the campaign's columns and its whole statistics answer (`summary`),
   computed in one snapshot. From its commit on, the statistics and `GET /campaigns/{id}`
   answer from the archive, and nothing can change or send the campaign (409
   `campaign_archived`), so the removals below are never seen half done.
2. in chunks: its tracking events, clicks, daily click counts; its email logs and outbox
   messages are detached (`campaign_id`, `recipient_id` NULL: logs outlive the campaign, as
   their foreign keys' ON DELETE SET NULL says, and age by their own 90 days); its recipients.
3. its links and the campaign row.

Each chunk first takes the campaign row FOR SHARE and checks it is still final, so a retry
that slipped in before step 1 committed (SENT -> SENDING) stops the archive before anything is
removed, and its archive row is withdrawn (as a run's start withdraws any such row a crashed
run left behind). A crash anywhere resumes on the next run: step 1 keeps
the archive row already written (its summary was taken before any removal), the chunks delete
what is left.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from functools import partial
from typing import cast

from sqlalchemy import Table, TextClause, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openmailer.adapters.db.campaign_stats import live_stats, summary_of
from openmailer.adapters.db.retention.batches import repeat_until_short
from openmailer.adapters.db.retention.choices import cutoff_join, cutoff_parameters
from openmailer.adapters.db.tables import EmailCampaign, EmailCampaignArchive
from openmailer.core.campaigns.lifecycle import FINAL_STATES
from openmailer.core.retention.model import RetentionRun
from openmailer.core.retention.policy import DEFAULT_SETTINGS, CampaignReports

CAMPAIGNS = cast(Table, EmailCampaign.__table__)
ARCHIVE = cast(Table, EmailCampaignArchive.__table__)
FINAL = sorted(state.value for state in FINAL_STATES)
# The campaign's own columns, copied as they are (the archive adds archived_at and summary).
_COPIED = ", ".join(column.name for column in ARCHIVE.columns if column.name in CAMPAIGNS.c)
# A chunk: at most :batch rows of the campaign, those another transaction holds skipped.
_CHOSEN = (
    "SELECT ctid FROM {table} WHERE campaign_id = :campaign LIMIT :batch FOR UPDATE SKIP LOCKED"
)
_REMOVE = "DELETE FROM {table} WHERE ctid = ANY(ARRAY({chosen}))"
# Detached rows no longer match `campaign_id = :campaign`, so the chunks end.
_DETACH = "UPDATE {table} SET campaign_id = NULL{also} WHERE ctid = ANY(ARRAY({chosen}))"
# In this order, children first: (table, the name it is reported under, the statement).
_STEPS: tuple[tuple[str, str, str], ...] = (
    ("tracking_events", "tracking_events", _REMOVE),
    ("campaign_clicks", "campaign_clicks", _REMOVE),
    ("campaign_click_daily", "campaign_click_daily", _REMOVE),
    ("email_logs", "email_logs_detached", _DETACH.replace("{also}", ", recipient_id = NULL")),
    ("outbox_messages", "outbox_messages_detached", _DETACH.replace("{also}", "")),
    ("campaign_recipients", "campaign_recipients", _REMOVE),
)
REPORTED = (
    "email_campaigns",
    "campaign_links",
    *(reported for _, reported, _ in _STEPS),
)

_CANDIDATES = text(
    f"""
SELECT c.id, c.created_by FROM email_campaigns c
{cutoff_join("campaign_reports", "c.created_by")}
WHERE c.status = ANY(CAST(:final AS TEXT[]))
  AND coalesce(c.sent_at, c.created_at) < cutoff.before
ORDER BY c.id
"""  # noqa: S608 (constant fragments, no input)
)
_HOLD_FINAL = text(
    "SELECT id FROM email_campaigns WHERE id = :campaign AND status = ANY(CAST(:final AS TEXT[]))"
    " FOR SHARE SKIP LOCKED"
)
_ARCHIVED = text("SELECT 1 FROM email_campaigns_archive WHERE id = :campaign")
_ARCHIVE = text(
    f"""
INSERT INTO email_campaigns_archive ({_COPIED}, archived_at, summary)
SELECT {_COPIED}, :now, CAST(:summary AS JSONB) FROM email_campaigns WHERE id = :campaign
ON CONFLICT (id) DO NOTHING
"""  # noqa: S608 (constant fragments, no input)
)
_HOLD = text("SELECT status FROM email_campaigns WHERE id = :campaign FOR SHARE")
# Archive rows of campaigns that left their final state before anything was removed.
_WITHDRAW = text(
    "DELETE FROM email_campaigns_archive a USING email_campaigns c"
    " WHERE c.id = a.id AND c.status <> ALL(CAST(:final AS TEXT[]))"
)
_LINKS = text("DELETE FROM campaign_links WHERE campaign_id = :campaign")
_CAMPAIGN = text(
    "DELETE FROM email_campaigns WHERE id = :campaign AND status = ANY(CAST(:final AS TEXT[]))"
)
_COUNT = "SELECT count(*) FROM {table} WHERE campaign_id = :campaign"
SERIALIZATION_FAILURE = "40001"


class _NotFinal(Exception):
    """The campaign left its final state (a retry) or is held: leave it for now."""


async def archive_campaigns(engine: AsyncEngine, run: RetentionRun) -> Mapping[str, int]:
    """Rows removed per table (`email_campaigns`: the campaigns archived; `*_detached`: rows
    kept, their campaign reference cleared); with `run.dry_run` what would be, changing
    nothing."""
    rows: Counter[str] = Counter(dict.fromkeys(REPORTED, 0))
    parameters = cutoff_parameters(run.now, CampaignReports, DEFAULT_SETTINGS.campaign_reports)
    if not run.dry_run:
        await _withdraw_stranded(engine)
    async with engine.connect() as conn:
        candidates = (await conn.execute(_CANDIDATES, {**parameters, "final": FINAL})).all()
    for campaign, owner in candidates:
        if run.dry_run:
            rows.update(await _would_remove(engine, campaign))
            continue
        try:
            rows.update(await _archive_one(engine, run, campaign, owner))
        except _NotFinal:
            continue
    return dict(rows)


async def _would_remove(engine: AsyncEngine, campaign: int) -> Counter[str]:
    where = {"campaign": campaign}
    async with engine.connect() as conn:
        counts = Counter(
            {
                reported: int(await conn.scalar(text(_COUNT.format(table=table)), where) or 0)
                for table, reported, _ in _STEPS
            }
        )
        counts["campaign_links"] = int(
            await conn.scalar(text(_COUNT.format(table="campaign_links")), where) or 0
        )
    counts["email_campaigns"] = 1
    return counts


async def _archive_one(
    engine: AsyncEngine, run: RetentionRun, campaign: int, owner: int
) -> Counter[str]:
    await write_archive_row(engine, run.now, campaign, owner)
    removed: Counter[str] = Counter()
    try:
        for table, reported, statement in _STEPS:
            chosen = _CHOSEN.format(table=table)
            chunk = text(statement.format(table=table, chosen=chosen))
            removed[reported] = await repeat_until_short(
                engine,
                partial(_chunk, statement=chunk, campaign=campaign, batch=run.batch_size),
                run.batch_size,
            )
        async with engine.begin() as conn:
            await _hold_final(conn, campaign)
            links = await conn.execute(_LINKS, {"campaign": campaign})
            removed["campaign_links"] = links.rowcount
            deleted = await conn.execute(_CAMPAIGN, {"campaign": campaign, "final": FINAL})
            removed["email_campaigns"] = deleted.rowcount
    except _NotFinal:
        await _withdraw_stranded(engine)
        raise
    return removed


async def _withdraw_stranded(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(_WITHDRAW, {"final": FINAL})


async def write_archive_row(engine: AsyncEngine, now: datetime, campaign: int, owner: int) -> None:
    """Step 1 in one snapshot (REPEATABLE READ), so the summary's figures agree with each
    other; a concurrent change of the campaign row (a serialization failure) leaves it for the
    next run."""
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="REPEATABLE READ")
        try:
            async with conn.begin():
                if (
                    await conn.execute(_HOLD_FINAL, {"campaign": campaign, "final": FINAL})
                ).first() is None:
                    raise _NotFinal
                if await conn.scalar(_ARCHIVED, {"campaign": campaign}):
                    return  # a run that stopped half way: its summary predates any removal
                stats = await live_stats(conn, owner, campaign)
                if stats is None:
                    raise _NotFinal
                await conn.execute(
                    _ARCHIVE,
                    {
                        "campaign": campaign,
                        "now": now,
                        "summary": json.dumps(summary_of(stats)),
                    },
                )
        except DBAPIError as error:
            if getattr(error.orig, "sqlstate", None) == SERIALIZATION_FAILURE:
                raise _NotFinal from error
            raise


async def _hold_final(conn: AsyncConnection, campaign: int) -> None:
    """The campaign row FOR SHARE, so its state cannot change until the chunk commits (a
    tracking batch updating its rates holds it for milliseconds: waited for)."""
    state = await conn.scalar(_HOLD, {"campaign": campaign})
    if state not in FINAL:
        raise _NotFinal


async def _chunk(conn: AsyncConnection, *, statement: TextClause, campaign: int, batch: int) -> int:
    await _hold_final(conn, campaign)
    return (await conn.execute(statement, {"campaign": campaign, "batch": batch})).rowcount
