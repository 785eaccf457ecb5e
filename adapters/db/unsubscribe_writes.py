"""`AsyncpgUnsubscribeWrites`: the unsubscribe's two writes, over asyncpg pools of their own.

Every RFC 8058 POST lands here, so each write is one statement in one round trip (asyncpg keeps
it prepared per connection), without SQLAlchemy's execution layer or its pool's pre-ping, and a
connection goes back to its pool without asyncpg's reset query (these statements leave no
session state behind; an open transaction is still rolled back). Measured in
benchmarks/README.md (One-click unsubscribe).

- The unsubscribe, durable: the contact locked through its recipient row and made
  UNSUBSCRIBED when it still received mail, its ACTIVE memberships REMOVED, committed before the
  caller answers, so the send path's next claim sees it.
- The shared counters after the answer (`move_counts`), on a connection whose commits do not
  wait for the WAL flush (`synchronous_commit=off` for its session): every unsubscribe of a
  campaign touches these rows, and holding their locks through a disk flush would queue each
  unsubscribe behind the others'. One statement at a time per process: the unsubscribes that
  come while one runs are summed into the next (a group commit of their deltas), so a burst
  costs PostgreSQL one counters statement, not one each. A crash before one commits leaves the
  counts short of those unsubscribes (a cache: `list_counts.recount` puts a list right); the
  unsubscribes themselves are already durable.

The pools are opened on first use (in the process's event loop) and closed by `aclose`. The
URL's `sslmode` is honoured as the engine honours it, a loopback host without one reached
without TLS (which doubled this path's CPU: `engine._query`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information

from openmailer.adapters.db.engine import asyncpg_dsn
from openmailer.adapters.db.users import to_db_time
from openmailer.core.recipients.model import Unsubscribed

log = logging.getLogger("openmailer.recipients")

# $1 tracking id, $2 the moment, $3 the reason. Answers the status the contact had, its
# campaign, whether this call unsubscribed it, and the lists it left (in id order).
UNSUBSCRIBE = """
WITH target AS (
    SELECT c.id, c.status, r.campaign_id
    FROM campaign_recipients r JOIN contacts c ON c.id = r.contact_id
    WHERE r.tracking_id = $1
    FOR NO KEY UPDATE OF c
), unsubscribed AS (
    UPDATE contacts SET status = 'UNSUBSCRIBED', unsubscribed_at = $2,
        unsubscribe_reason = $3, updated_at = $2
    FROM target
    WHERE contacts.id = target.id AND target.status IN ('SUBSCRIBED', 'PENDING')
    RETURNING contacts.id
), removed AS (
    UPDATE contact_list_memberships m SET status = 'REMOVED', unsubscribed_at = $2
    FROM target
    WHERE m.contact_id = target.id AND m.status = 'ACTIVE'
    RETURNING m.list_id
)
SELECT target.status, target.campaign_id,
    EXISTS (SELECT 1 FROM unsubscribed) AS unsubscribed,
    ARRAY(SELECT list_id FROM removed ORDER BY list_id) AS removed
FROM target
"""

# The moves of every unsubscribe waiting, summed: $1 lists, $2 members each left, $3 of them
# SUBSCRIBED (they counted in `active_contacts`); $4 campaigns, $5 unsubscribes each. The rows
# are locked in id order (the lists as `list_counts` locks them), so two processes' moves never
# deadlock.
MOVE_COUNTERS = """
WITH moves AS (
    SELECT * FROM unnest($1::bigint[], $2::integer[], $3::integer[]) AS m(id, members, subscribed)
), locked_lists AS (
    SELECT id FROM contact_lists WHERE id = ANY($1::bigint[]) ORDER BY id FOR NO KEY UPDATE
), lists AS (
    UPDATE contact_lists l
    SET total_contacts = greatest(coalesce(l.total_contacts, m.members) - m.members, 0),
        active_contacts = greatest(coalesce(l.active_contacts, m.subscribed) - m.subscribed, 0)
    FROM locked_lists, moves m WHERE l.id = locked_lists.id AND m.id = l.id
    RETURNING l.id
), locked_campaigns AS (
    SELECT id FROM email_campaigns WHERE id = ANY($4::bigint[]) ORDER BY id FOR NO KEY UPDATE
)
UPDATE email_campaigns c SET unsubscribe_count = coalesce(c.unsubscribe_count, 0) + n.count
FROM locked_campaigns, unnest($4::bigint[], $5::integer[]) AS n(id, count)
WHERE c.id = locked_campaigns.id AND n.id = c.id
"""


@dataclass
class CounterMoves:
    """What a batch of unsubscribes moves, summed per list and per campaign."""

    members_left: Counter[int] = field(default_factory=Counter)
    subscribed_left: Counter[int] = field(default_factory=Counter)
    unsubscribes: Counter[int] = field(default_factory=Counter)

    def add(self, unsubscribed: Unsubscribed) -> None:
        for list_id in unsubscribed.list_ids:
            self.members_left[list_id] += 1
            self.subscribed_left[list_id] += 1 if unsubscribed.was_subscribed else 0
        if unsubscribed.campaign_id is not None:
            self.unsubscribes[unsubscribed.campaign_id] += 1

    def arguments(self) -> tuple[list[int], list[int], list[int], list[int], list[int]]:
        lists = sorted(self.members_left)
        campaigns = sorted(self.unsubscribes)
        return (
            lists,
            [self.members_left[i] for i in lists],
            [self.subscribed_left[i] for i in lists],
            campaigns,
            [self.unsubscribes[i] for i in campaigns],
        )


DURABLE_POOL_SIZE = 8
COUNTERS_POOL_SIZE = 1  # one counters statement at a time (`move_counts`)
CLOSE_SECONDS = 5.0
APPLICATION_NAME = "openmailer-unsubscribe"  # its connections, as pg_stat_activity shows them


async def _keep_session(connection: asyncpg.Connection) -> None:
    """asyncpg's default reset is a round trip per release; these statements set nothing."""


class AsyncpgUnsubscribeWrites:
    def __init__(self, url: str, *, connect_timeout: float, statement_timeout: float) -> None:
        self._dsn = asyncpg_dsn(url)
        self._connect_timeout = connect_timeout
        self._statement_timeout = statement_timeout
        self._durable: asyncpg.Pool | None = None
        self._counters: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()
        self._waiting = CounterMoves()
        self._next_move: asyncio.Future[None] | None = None
        self._mover: asyncio.Task[None] | None = None

    async def _pools(self) -> tuple[asyncpg.Pool, asyncpg.Pool]:
        if self._durable is None or self._counters is None:
            async with self._opening:
                if self._durable is None:
                    self._durable = await self._pool(DURABLE_POOL_SIZE, {})
                if self._counters is None:
                    self._counters = await self._pool(
                        COUNTERS_POOL_SIZE, {"synchronous_commit": "off"}
                    )
        return self._durable, self._counters

    async def _pool(self, size: int, settings: dict[str, str]) -> asyncpg.Pool:
        pool = await asyncpg.create_pool(
            self._dsn,
            min_size=1,
            max_size=size,
            reset=_keep_session,
            timeout=self._connect_timeout,
            command_timeout=self._statement_timeout,
            server_settings={"application_name": APPLICATION_NAME, **settings},
        )
        assert pool is not None  # create_pool answers None only when not awaited
        return pool

    async def unsubscribe(
        self, tracking_id: str, *, reason: str | None, at: datetime
    ) -> Unsubscribed | None:
        durable, _ = await self._pools()
        target = await durable.fetchrow(UNSUBSCRIBE, tracking_id, to_db_time(at), reason)
        if target is None:
            return None
        return Unsubscribed(
            list_ids=tuple(target["removed"]),
            was_subscribed=target["status"] == "SUBSCRIBED",
            campaign_id=target["campaign_id"] if target["unsubscribed"] else None,
        )

    async def move_counts(self, unsubscribed: Unsubscribed) -> None:
        """Returns once the counts have moved (or failed to: logged). The unsubscribes that
        arrive while a move runs wait for the next, which moves them all in one statement: at
        most one counters statement runs per process, however many unsubscribe at once."""
        self._waiting.add(unsubscribed)
        if self._next_move is None:
            self._next_move = asyncio.get_running_loop().create_future()
        moved = self._next_move
        if self._mover is None or self._mover.done():
            self._mover = asyncio.create_task(self._move_while_waiting())
        await asyncio.shield(moved)  # a cancelled caller leaves the move to run

    async def _move_while_waiting(self) -> None:
        while self._next_move is not None:
            moves, self._waiting = self._waiting, CounterMoves()
            moved, self._next_move = self._next_move, None
            try:
                _, counters = await self._pools()
                await counters.execute(MOVE_COUNTERS, *moves.arguments())
            except Exception:  # logged, and the loop goes on: later moves must not wait forever
                lists, _, _, campaigns, _ = moves.arguments()
                log.exception(
                    "unsubscribe_counts_not_moved",
                    extra={"list_ids": lists, "campaign_ids": campaigns},
                )
            finally:
                moved.set_result(None)

    async def aclose(self) -> None:
        """Closes the pools once the waiting counts have moved, ending connections abruptly if
        a graceful close takes too long (a server that stopped answering must not hold the
        process's shutdown)."""
        if self._mover is not None:
            await asyncio.wait([self._mover], timeout=CLOSE_SECONDS)
        for pool in (self._durable, self._counters):
            if pool is not None:
                try:
                    await asyncio.wait_for(pool.close(), CLOSE_SECONDS)
                except (TimeoutError, OSError, asyncpg.InterfaceError):
                    pool.terminate()
        self._durable = self._counters = None
