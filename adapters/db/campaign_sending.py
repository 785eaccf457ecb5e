"""`SqlAlchemyCampaignSendStore`: the send path's statements on `campaign_recipients`,
`email_campaigns`, `campaign_links`, `email_logs` and the user's monthly count.

Every statement is set-based and bounded by a batch: the claim is one UPDATE over a locked
`SELECT ... ORDER BY id LIMIT n FOR UPDATE SKIP LOCKED`, the results one UPDATE from arrays
(`unnest`), the logs one INSERT from arrays. Times are naive UTC, like every column here
(`timezone('UTC', now())`).
"""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openmailer.adapters.db.monthly_quota import GIVE_BACK_QUOTA, LOCK_HEADROOM, TAKE_QUOTA
from openmailer.adapters.db.unit_of_work import Statements, statements_on
from openmailer.adapters.db.users import from_db_time, to_db_time
from openmailer.core.ports.campaign_sending import (
    CampaignRef,
    Claim,
    ClaimedRecipient,
    Failure,
    RecipientResult,
    RecipientState,
)
from openmailer.core.ports.rendering import TrackedLink

SHORT_CODE_CHARS = string.ascii_letters + string.digits
SHORT_CODE_LENGTH = 8

# The campaign must be SENDING at the claim: a pause committed before it stops it. Rows whose
# contact is no longer SUBSCRIBED are marked skipped in the same statement ("effective before
# the next claim"); their contacts' fields are not needed.
_CLAIM = text(
    """
    WITH live AS (
        -- FOR SHARE: a pause (an UPDATE of this row) waits for the claims already under way to
        -- commit, and a claim that reaches the row after the pause sees PAUSED and takes
        -- nothing. Without the lock a claim whose snapshot predates the pause could still
        -- take a batch after the pause answered.
        SELECT c.id FROM email_campaigns c
        WHERE c.id = :campaign_id AND c.created_by = :user_id AND c.status = 'SENDING'
        FOR SHARE
    ), picked AS (
        SELECT r.id
        FROM campaign_recipients r
        WHERE r.campaign_id = (SELECT id FROM live)
          AND r.status = 'PENDING'
          AND (r.next_attempt_at IS NULL OR r.next_attempt_at <= timezone('UTC', now()))
        ORDER BY r.id
        LIMIT :limit
        FOR UPDATE OF r SKIP LOCKED
    )
    UPDATE campaign_recipients r
    SET status = CASE WHEN ct.status = 'SUBSCRIBED' THEN 'SENDING' ELSE 'FAILED' END,
        failure = CASE WHEN ct.status = 'SUBSCRIBED' THEN NULL ELSE 'skipped' END,
        error_message = CASE WHEN ct.status = 'SUBSCRIBED' THEN r.error_message
                        ELSE 'skipped: the contact is ' || ct.status END,
        lease_expires_at = CASE WHEN ct.status = 'SUBSCRIBED' THEN CAST(:lease AS timestamp)
                           ELSE NULL END,
        updated_at = timezone('UTC', now())
    FROM picked, contacts ct
    WHERE r.id = picked.id AND ct.id = r.contact_id
    RETURNING r.id, r.status, r.tracking_id, r.retry_count, ct.email, ct.first_name,
              ct.last_name, ct.custom_fields
    """
)

# The claimed rows beyond the month's room go back untouched by this claim.
_UNCLAIM = text(
    """
    UPDATE campaign_recipients SET status = 'PENDING', lease_expires_at = NULL
    WHERE id = ANY(CAST(:ids AS bigint[]))
    """
)

_WRITE_RESULTS = text(
    """
    UPDATE campaign_recipients r
    SET status = v.status,
        failure = v.failure,
        error_message = v.error,
        next_attempt_at = v.next_at,
        retry_count = COALESCE(r.retry_count, 0) + v.retried,
        sent_at = CASE WHEN v.status = 'SENT' THEN timezone('UTC', now()) ELSE r.sent_at END,
        lease_expires_at = NULL,
        updated_at = timezone('UTC', now())
    FROM unnest(CAST(:ids AS bigint[]), CAST(:statuses AS text[]), CAST(:failures AS text[]),
                CAST(:errors AS text[]), CAST(:next_ats AS timestamp[]),
                CAST(:retried AS int[]))
         AS v(id, status, failure, error, next_at, retried)
    WHERE r.id = v.id AND r.status = 'SENDING' AND r.lease_expires_at = CAST(:lease AS timestamp)
    RETURNING r.id
    """
)

_APPEND_LOGS = text(
    """
    INSERT INTO email_logs (user_id, campaign_id, recipient_id, provider_id, email_type,
                            recipient_email, subject, status, provider_message_id,
                            error_message, sent_at)
    SELECT :user_id, :campaign_id, v.recipient_id, v.provider_id, 'CAMPAIGN', v.email,
           :subject, v.status, v.provider_message_id, v.error,
           CASE WHEN v.status = 'SENT' THEN timezone('UTC', now()) END
    FROM unnest(CAST(:ids AS bigint[]), CAST(:provider_ids AS bigint[]),
                CAST(:emails AS text[]), CAST(:statuses AS text[]),
                CAST(:provider_message_ids AS text[]), CAST(:errors AS text[]))
         AS v(recipient_id, provider_id, email, status, provider_message_id, error)
    WHERE v.recipient_id = ANY(CAST(:written AS bigint[]))
    """
)

_COUNTERS = text(
    """
    UPDATE email_campaigns
    SET sent_count = COALESCE(sent_count, 0) + :sent,
        failed_count = COALESCE(failed_count, 0) + :failed,
        updated_at = timezone('UTC', now())
    WHERE id = :campaign_id
    """
)

_COMPLETE = text(
    """
    UPDATE email_campaigns c
    SET status = 'SENT', sent_at = timezone('UTC', now()), updated_at = timezone('UTC', now())
    WHERE c.id = :campaign_id AND c.status = 'SENDING' AND c.template_version IS NOT NULL
      AND NOT EXISTS (
          SELECT 1 FROM campaign_recipients r
          WHERE r.campaign_id = c.id AND r.status IN ('PENDING', 'SENDING')
      )
    RETURNING c.id
    """
)

# The earliest backoff of a PENDING row; with none PENDING but some in flight, a second from
# now (they may come back to retry); NULL when none is left to send.
_NEXT_ATTEMPT = text(
    """
    SELECT CASE
        WHEN count(*) FILTER (WHERE status = 'PENDING') > 0
            THEN MIN(COALESCE(next_attempt_at, timezone('UTC', now())))
                 FILTER (WHERE status = 'PENDING')
        WHEN count(*) > 0 THEN timezone('UTC', now()) + interval '1 second'
    END
    FROM campaign_recipients
    WHERE campaign_id = :campaign_id AND status IN ('PENDING', 'SENDING')
    """
)

_RECLAIM = text(
    """
    UPDATE campaign_recipients r
    SET status = 'PENDING', lease_expires_at = NULL, possible_duplicate = true,
        updated_at = timezone('UTC', now())
    WHERE r.status = 'SENDING' AND r.lease_expires_at < timezone('UTC', now())
    RETURNING r.campaign_id
    """
)


class _NoQuota(Exception):
    """Rolls the claim back: the user's monthly limit has no room left."""


_REFS_BY_ID = text(
    "SELECT id, created_by FROM email_campaigns WHERE id = ANY(CAST(:ids AS bigint[])) ORDER BY id"
)
_REFS_SENDING = text(
    "SELECT id, created_by FROM email_campaigns WHERE status = 'SENDING' ORDER BY id"
)
_REFS_DUE = text(
    "SELECT id, created_by FROM email_campaigns "
    "WHERE status = 'SCHEDULED' AND scheduled_at <= :now ORDER BY id"
)


def _short_code() -> str:
    return "".join(secrets.choice(SHORT_CODE_CHARS) for _ in range(SHORT_CODE_LENGTH))


class SqlAlchemyCampaignSendStore:
    def __init__(self, target: AsyncEngine | Statements) -> None:
        self._db = statements_on(target)

    async def record_links(self, campaign_id: int, links: Sequence[TrackedLink]) -> None:
        if not links:
            return
        statement = text(
            """
            INSERT INTO campaign_links (campaign_id, link_index, original_url, short_code)
            SELECT :campaign_id, v.link_index, v.url, v.code
            FROM unnest(CAST(:indexes AS int[]), CAST(:urls AS text[]), CAST(:codes AS text[]))
                 AS v(link_index, url, code)
            ON CONFLICT (campaign_id, link_index) DO NOTHING
            """
        )
        async with self._db.write() as conn:
            await conn.execute(
                statement,
                {
                    "campaign_id": campaign_id,
                    "indexes": [link.index for link in links],
                    "urls": [link.url for link in links],
                    "codes": [_short_code() for _ in links],
                },
            )

    async def mark_outbox_only(self, user_id: int, campaign_id: int) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                text(
                    "UPDATE email_campaigns SET outbox_only = true "
                    "WHERE id = :campaign_id AND created_by = :user_id"
                ),
                {"campaign_id": campaign_id, "user_id": user_id},
            )

    async def claim(
        self, user_id: int, campaign_id: int, *, limit: int, lease_seconds: float
    ) -> Claim:
        try:
            return await self._claim(user_id, campaign_id, limit, lease_seconds)
        except _NoQuota:  # the claim was rolled back with it
            return Claim([], None, quota_exhausted=True)

    async def _claim(
        self, user_id: int, campaign_id: int, limit: int, lease_seconds: float
    ) -> Claim:
        async with self._db.write() as conn:
            lease = await conn.scalar(
                text("SELECT timezone('UTC', now()) + make_interval(secs => :seconds)"),
                {"seconds": lease_seconds},
            )
            rows = (
                await conn.execute(
                    _CLAIM,
                    {
                        "campaign_id": campaign_id,
                        "user_id": user_id,
                        "limit": limit,
                        "lease": lease,
                    },
                )
            ).all()
            claimed = sorted(
                (row for row in rows if row.status == RecipientState.SENDING.value),
                key=lambda r: r.id,
            )
            skipped = len(rows) - len(claimed)
            if claimed:
                claimed = await self._take_quota(conn, user_id, claimed)
        recipients = [
            ClaimedRecipient(
                id=row.id,
                tracking_id=row.tracking_id,
                email=row.email,
                first_name=row.first_name,
                last_name=row.last_name,
                custom=_custom(row.custom_fields),
                retry_count=int(row.retry_count or 0),
            )
            for row in claimed
        ]
        return Claim(recipients, lease if claimed else None, skipped=skipped)

    @staticmethod
    async def _take_quota(conn: AsyncConnection, user_id: int, claimed: list[Any]) -> list[Any]:
        """The claimed rows the month still has room for (the first ones), counted; the rest go
        back to PENDING in the same transaction. No room at all rolls the claim back. The user
        is locked after the claim's rows: the order every writer of a campaign's rows and its
        user's count takes (recipients and campaign first, then the user)."""
        headroom = await conn.scalar(LOCK_HEADROOM, {"user_id": user_id})
        kept = claimed if headroom is None else claimed[: int(headroom)]
        if not kept:
            raise _NoQuota
        if len(kept) < len(claimed):
            await conn.execute(_UNCLAIM, {"ids": [row.id for row in claimed[len(kept) :]]})
        taken = await conn.execute(TAKE_QUOTA, {"user_id": user_id, "count": len(kept)})
        if taken.first() is None:
            raise _NoQuota
        return kept

    async def record_results(
        self,
        user_id: int,
        campaign_id: int,
        *,
        lease: datetime,
        subject: str,
        results: Sequence[RecipientResult],
    ) -> None:
        if not results:
            return
        values: dict[str, Any] = {
            "lease": lease,
            "ids": [r.recipient_id for r in results],
            "statuses": [r.state.value for r in results],
            "failures": [None if r.failure is None else r.failure.value for r in results],
            "errors": [r.error for r in results],
            "next_ats": [to_db_time(r.next_attempt_at) for r in results],
            "retried": [1 if r.state is RecipientState.PENDING else 0 for r in results],
        }
        async with self._db.write() as conn:
            written = set((await conn.execute(_WRITE_RESULTS, values)).scalars())
            final = [r for r in results if r.recipient_id in written]
            logged = [r for r in final if r.state is not RecipientState.PENDING]
            if logged:
                await conn.execute(
                    _APPEND_LOGS,
                    {
                        "user_id": user_id,
                        "campaign_id": campaign_id,
                        "subject": subject[:500],
                        "ids": [r.recipient_id for r in logged],
                        "provider_ids": [r.provider_id for r in logged],
                        "emails": [r.email for r in logged],
                        "statuses": [r.state.value for r in logged],
                        "provider_message_ids": [r.provider_message_id for r in logged],
                        "errors": [r.error for r in logged],
                        "written": sorted(written),
                    },
                )
            sent = sum(1 for r in final if r.state is RecipientState.SENT)
            failed = sum(1 for r in final if r.state is RecipientState.FAILED)
            if sent or failed:
                await conn.execute(
                    _COUNTERS, {"campaign_id": campaign_id, "sent": sent, "failed": failed}
                )
            # Taken at the claim; the rows to retry (or given up: failed before any send) are
            # counted again when they are claimed again.
            unsent = sum(
                1 for r in final if r.state is RecipientState.PENDING or r.failure is Failure.RENDER
            )
            if unsent:
                await conn.execute(GIVE_BACK_QUOTA, {"user_id": user_id, "count": unsent})

    async def next_attempt(self, campaign_id: int) -> datetime | None:
        async with self._db.read() as conn:
            found = await conn.scalar(_NEXT_ATTEMPT, {"campaign_id": campaign_id})
        return from_db_time(found)

    async def complete_if_done(self, campaign_id: int) -> bool:
        async with self._db.write() as conn:
            done = await conn.execute(_COMPLETE, {"campaign_id": campaign_id})
            return done.first() is not None

    async def reclaim_expired(self) -> list[CampaignRef]:
        async with self._db.write() as conn:
            ids = set((await conn.execute(_RECLAIM)).scalars())
            if not ids:
                return []
            return await self._refs(conn, _REFS_BY_ID, {"ids": list(ids)})

    async def campaigns_sending(self) -> list[CampaignRef]:
        async with self._db.read() as conn:
            return await self._refs(conn, _REFS_SENDING, {})

    async def due_scheduled(self, now: datetime) -> list[CampaignRef]:
        async with self._db.read() as conn:
            return await self._refs(conn, _REFS_DUE, {"now": to_db_time(now)})

    @staticmethod
    async def _refs(
        conn: AsyncConnection, statement: TextClause, values: dict[str, Any]
    ) -> list[CampaignRef]:
        rows = await conn.execute(statement, values)
        return [CampaignRef(row.id, row.created_by) for row in rows]

    async def retry_failed(self, user_id: int, campaign_id: int) -> int:
        async with self._db.write() as conn:
            owned = await conn.scalar(
                text(
                    "SELECT id FROM email_campaigns WHERE id = :campaign_id "
                    "AND created_by = :user_id FOR UPDATE"
                ),
                {"campaign_id": campaign_id, "user_id": user_id},
            )
            if owned is None:
                return 0
            count = len(
                (
                    await conn.execute(
                        text(
                            """
                            UPDATE campaign_recipients
                            SET status = 'PENDING', failure = NULL, retry_count = 0,
                                next_attempt_at = NULL, updated_at = timezone('UTC', now())
                            WHERE campaign_id = :campaign_id AND status = 'FAILED'
                              AND failure = 'transient'
                            RETURNING id
                            """
                        ),
                        {"campaign_id": campaign_id},
                    )
                ).all()
            )
            if count:
                await conn.execute(
                    text(
                        "UPDATE email_campaigns "
                        "SET failed_count = GREATEST(0, COALESCE(failed_count, 0) - :count) "
                        "WHERE id = :campaign_id"
                    ),
                    {"campaign_id": campaign_id, "count": count},
                )
            return count


def _custom(value: Any) -> dict[str, object]:
    if isinstance(value, str):  # a driver without the JSONB codec
        value = json.loads(value)
    return dict(value) if isinstance(value, dict) else {}
