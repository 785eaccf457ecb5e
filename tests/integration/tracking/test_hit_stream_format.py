"""Hits are one JSON field per stream entry, appended by one script per group commit; entries
written in the earlier six-field format (still in the stream when an installation upgrades)
are applied all the same."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta

import pytest
from litestar import Litestar

from openmailer.adapters.redis.tracking_stream import (
    HIT_FIELD,
    STREAM_KEY,
    RedisHitBuffer,
    decode_hit,
    encode_hit,
)
from openmailer.core.accounts.service import AccountsPorts as Accounts
from openmailer.core.tracking.model import EventKind, Hit
from tests.integration.accounts.accounts_helpers import engine_of, make_user
from tests.integration.tracking.tracking_helpers import drain_buffer, recipient_row, send_campaign

pytestmark = pytest.mark.integration


def test_a_hit_survives_its_encoding_whole() -> None:
    at = datetime(2026, 12, 2, 15, 30, 1, 123456, tzinfo=UTC)
    for hit in (
        Hit(
            EventKind.CLICK,
            "12-" + "ab" * 16,
            at,
            link_index=3,
            ip_address="10.0.0.7",
            user_agent='Mozilla "quoted" | piped \u00e9',
        ),
        Hit(EventKind.OPEN, "ab" * 16, at, ip_address=None, user_agent=None),
    ):
        assert decode_hit({HIT_FIELD.encode(): encode_hit(hit)}) == hit


async def test_entries_of_the_six_field_format_are_still_applied(
    app: Litestar, accounts: Accounts
) -> None:
    user = await make_user(accounts)
    campaign = await send_campaign(
        app, engine_of(accounts), user.id, recipients=1, sent_ago=timedelta(hours=1)
    )
    mail = campaign.mails[0]
    at = str(int(datetime.now(UTC).timestamp() * 1_000_000))
    redis = app.state.resources.redis
    await redis.xadd(
        STREAM_KEY,
        {
            "k": "click",
            "t": mail.tracking_id,
            "i": "0",
            "at": at,
            "ip": "10.0.0.7",
            "ua": "Firefox",
        },
    )
    await redis.xadd(
        STREAM_KEY, {"k": "open", "t": mail.tracking_id, "i": "", "at": at, "ip": "", "ua": ""}
    )
    await drain_buffer(app)
    row = await recipient_row(engine_of(accounts), mail.recipient_id)
    assert (row["open_count"], row["click_count"]) == (1, 1)


async def test_a_group_commit_appends_every_hit_as_its_own_entry(app: Litestar) -> None:
    redis = app.state.resources.redis
    stream = f"om:tracking:test-group-commit:{os.getpid()}"
    buffer = RedisHitBuffer(redis, stream=stream)
    at = datetime.now(UTC)
    hits = [
        Hit(EventKind.OPEN, f"{n}-" + "cd" * 16, at, user_agent=f"ua {n}") for n in range(1, 41)
    ]
    try:
        await asyncio.gather(*(buffer.append(hit) for hit in hits))  # concurrent: shared trips
        entries = await redis.xrange(stream)
    finally:
        await redis.delete(stream)
    assert [decode_hit(fields) for _, fields in entries] == hits  # in order, one entry each
