"""The periodic purge of expired Idempotency-Key rows: bounded batches, live keys kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from litestar import Litestar

from openmailer.adapters.db.email_logs import SqlAlchemyIdempotencyStore
from openmailer.core.accounts.service import AccountsPorts as Accounts
from openmailer.core.messages.service import MessagesService
from tests.integration.accounts.accounts_helpers import engine_of, make_user
from tests.integration.messages.messages_helpers import scalar

pytestmark = pytest.mark.integration

KEYS = "SELECT count(*) FROM idempotency_keys WHERE user_id = :u"


async def test_expired_keys_are_purged_in_batches_and_live_ones_kept(
    app: Litestar, accounts: Accounts
) -> None:
    user = await make_user(accounts)
    store = SqlAlchemyIdempotencyStore(engine_of(accounts))
    now = datetime.now(UTC)
    for number in range(5):
        claimed_at = now - timedelta(days=2)
        await store.claim(
            user.id, f"old-{number}", "h", now=claimed_at, expires_at=claimed_at + timedelta(days=1)
        )
    await store.claim(user.id, "live", "h", now=now, expires_at=now + timedelta(days=1))
    assert await scalar(accounts, KEYS, u=user.id) == 6

    assert await store.purge_expired(now=now, batch_size=2) == 2
    messages: MessagesService = app.state.services["messages"]
    assert await messages.purge_expired_idempotency_keys(batch_size=2) >= 3
    assert await scalar(accounts, KEYS, u=user.id) == 1
    assert await store.claim(user.id, "live", "h", now=now, expires_at=now) is not None


def test_the_purge_runs_hourly_on_the_maintenance_queue(app: Litestar) -> None:
    areas = app.state.areas
    job = areas.periodic_jobs["purge-idempotency-keys"]
    assert (job.actor, job.interval_seconds) == ("purge_idempotency_keys", 3600)
    assert areas.actors["purge_idempotency_keys"].queue == "maintenance"
