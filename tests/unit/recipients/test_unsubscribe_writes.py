"""The unsubscribe's asyncpg writes without a database: the summed counter moves, and a move
that cannot reach PostgreSQL logged without holding its callers."""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest

from openmailer.adapters.db.engine import asyncpg_dsn
from openmailer.adapters.db.unsubscribe_writes import AsyncpgUnsubscribeWrites, CounterMoves
from openmailer.core.recipients.model import Unsubscribed


def test_the_moves_of_a_batch_are_summed_per_list_and_campaign_in_id_order() -> None:
    moves = CounterMoves()
    moves.add(Unsubscribed(list_ids=(7, 3), was_subscribed=True, campaign_id=20))
    moves.add(Unsubscribed(list_ids=(3,), was_subscribed=False, campaign_id=10))
    moves.add(Unsubscribed(list_ids=(7,), was_subscribed=True, campaign_id=None))  # a repeat
    assert moves.arguments() == ([3, 7], [2, 2], [1, 2], [10, 20], [1, 1])


def test_the_url_becomes_a_libpq_style_one_for_asyncpg() -> None:
    assert (
        asyncpg_dsn("postgresql+asyncpg://u@127.0.0.1:5432/om?ssl=disable&host=/run/pg")
        == "postgresql://u@127.0.0.1:5432/om?sslmode=disable&host=/run/pg"
    )


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens once it is closed


async def test_a_move_that_cannot_reach_postgresql_is_logged_and_its_callers_go_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    writes = AsyncpgUnsubscribeWrites(
        f"postgresql://postgres@127.0.0.1:{_closed_port()}/none",
        connect_timeout=1.0,
        statement_timeout=1.0,
    )
    left = Unsubscribed(list_ids=(1,), was_subscribed=True, campaign_id=2)
    with caplog.at_level(logging.ERROR, logger="openmailer.recipients"):
        await asyncio.wait_for(asyncio.gather(*(writes.move_counts(left) for _ in range(3))), 10)
        await asyncio.wait_for(writes.move_counts(left), 10)  # and the next one still runs
    failures = [r for r in caplog.records if r.getMessage() == "unsubscribe_counts_not_moved"]
    assert 2 <= len(failures) <= 4
    await writes.aclose()
