"""The send path with real `openmailer worker` processes, PostgreSQL, Redis and an SMTP sink
that records every Message-ID it accepts: exactly once on a clean run with 20% of first
attempts refused (451) and retried; a kill -9 mid-send loses nobody and duplicates at most the
batches in flight, each recorded as a possible duplicate; five pauses and resumes, then SIGTERM,
give exactly once. OPENMAILER_TEST_RELIABILITY_RECIPIENTS sizes the campaigns
(reliability_helpers)."""

from __future__ import annotations

import asyncio
import signal

import pytest
from litestar import Litestar
from sqlalchemy import text

from openmailer.adapters.settings import Settings
from openmailer.core.campaigns.sending_service import CampaignSendingService
from tests.integration.campaign_sending.reliability_helpers import (
    BATCH,
    LEASE_SECONDS,
    RECIPIENTS,
    Sink,
    campaign,
    expected_message_ids,
    finished,
    patience,
    send,
    sent_tracking_ids,
    share,
    smtp_campaign,
)
from tests.integration.campaign_sending.worker_helpers import (
    Worker,
    wait_until,
    worker_env,
)
from tests.integration.campaigns.conftest import World

pytestmark = pytest.mark.integration


@pytest.fixture
def env(accounts_settings: Settings) -> dict[str, str]:
    return worker_env(
        accounts_settings,
        OPENMAILER_CAMPAIGN_BATCH_SIZE=str(BATCH),
        OPENMAILER_CAMPAIGN_LEASE_SECONDS=str(LEASE_SECONDS),
        OPENMAILER_CAMPAIGN_RETRY_BACKOFF="0.2",
    )


@pytest.mark.parametrize("sink", [5], indirect=True)
async def test_every_recipient_once_though_one_in_five_first_attempts_is_refused(
    world: World, sink: Sink, env: dict[str, str]
) -> None:
    size = share(2 / 3)
    campaign_id = await smtp_campaign(world, sink, size)
    worker = Worker(env)
    try:
        await send(world, campaign_id)
        await wait_until(lambda: finished(world, campaign_id), within=patience(120))
    finally:
        worker.stop()
    body = await campaign(world, campaign_id)
    assert (body["total_recipients"], body["sent_count"], body["failed_count"]) == (size, size, 0)
    assert sink.handler.refused >= size * 0.19  # one in five first attempts
    sent = sent_tracking_ids(sink.handler, campaign_id)
    assert set(sent) == await expected_message_ids(world, campaign_id)
    assert set(sent.values()) == {1}
    async with world.engine.connect() as conn:
        retried = await conn.scalar(
            text(
                "SELECT count(*) FROM campaign_recipients "
                "WHERE campaign_id = :c AND retry_count > 0"
            ),
            {"c": campaign_id},
        )
        logs = await conn.scalar(
            text(
                "SELECT count(DISTINCT recipient_id) FROM email_logs "
                "WHERE campaign_id = :c AND status = 'SENT' AND provider_message_id IS NOT NULL"
            ),
            {"c": campaign_id},
        )
    assert retried == sink.handler.refused and logs == size


async def test_a_worker_killed_mid_send_loses_nobody_and_records_its_possible_duplicates(
    app: Litestar, world: World, sink: Sink, env: dict[str, str]
) -> None:
    service: CampaignSendingService = app.state.services["campaign_sending"]
    campaign_id = await smtp_campaign(world, sink, RECIPIENTS)
    threads = 4
    first = Worker(env, threads=threads)
    try:
        await send(world, campaign_id)
        await wait_until(
            lambda: _sent_at_least(world, campaign_id, share(0.2)), within=patience(120), step=0.05
        )
    finally:
        first.stop(signal.SIGKILL)
    assert not await finished(world, campaign_id)
    second = Worker(env, threads=threads)
    try:

        async def reconciled_and_finished() -> bool:
            await service.reconcile()
            return await finished(world, campaign_id)

        await wait_until(reconciled_and_finished, within=patience(120), step=1.0)
    finally:
        second.stop()
    sent = sent_tracking_ids(sink.handler, campaign_id)
    assert set(sent) == await expected_message_ids(world, campaign_id)  # nobody lost
    duplicated = {tracking_id for tracking_id, count in sent.items() if count > 1}
    assert max(sent.values()) <= 2
    # at most the batches the killed process had claimed (one per thread)
    assert len(duplicated) <= threads * BATCH
    async with world.engine.connect() as conn:
        flagged = {
            row.tracking_id
            for row in await conn.execute(
                text(
                    "SELECT tracking_id FROM campaign_recipients "
                    "WHERE campaign_id = :c AND possible_duplicate"
                ),
                {"c": campaign_id},
            )
        }
    assert duplicated <= flagged
    assert len(flagged) <= threads * BATCH


async def _nothing_in_flight(world: World, campaign_id: int) -> bool:
    async with world.engine.connect() as conn:
        sending = await conn.scalar(
            text(
                "SELECT count(*) FROM campaign_recipients "
                "WHERE campaign_id = :c AND status = 'SENDING'"
            ),
            {"c": campaign_id},
        )
    return sending == 0


async def _sent_at_least(world: World, campaign_id: int, count: int) -> bool:
    return int((await campaign(world, campaign_id))["sent_count"]) >= count


async def test_sigterm_and_pause_resume_give_exactly_once(
    world: World, sink: Sink, env: dict[str, str]
) -> None:
    campaign_id = await smtp_campaign(world, sink, RECIPIENTS)
    headers = world.owner.caller.headers
    worker = Worker(env)
    try:
        await send(world, campaign_id)
        for threshold in (share(0.1 * step) for step in range(1, 6)):  # five pauses
            await wait_until(
                lambda t=threshold: _sent_at_least(world, campaign_id, t),
                within=patience(60),
                step=0.05,
            )
            paused = await world.client.post(
                f"/api/v1/campaigns/{campaign_id}/pause", headers=headers
            )
            assert paused.status_code == 200, paused.text
            # batches in flight finish; nothing is claimed after them
            await wait_until(lambda: _nothing_in_flight(world, campaign_id), within=30)
            settled = (await campaign(world, campaign_id))["sent_count"]
            await asyncio.sleep(1.0)
            assert await _nothing_in_flight(world, campaign_id)
            assert (await campaign(world, campaign_id))["sent_count"] == settled
            resumed = await world.client.post(
                f"/api/v1/campaigns/{campaign_id}/resume", headers=headers
            )
            assert resumed.status_code == 200, resumed.text
        await wait_until(
            lambda: _sent_at_least(world, campaign_id, share(0.6)), within=patience(60), step=0.05
        )
    finally:
        worker.stop(signal.SIGTERM)
    # it stopped by itself: its batches in flight finished (no kill was needed)
    assert worker.process.returncode == 0, worker.output[-3000:]
    # no reconciler: the graceful stop left every lane's message in the queue
    restarted = Worker(env)
    try:
        await wait_until(lambda: finished(world, campaign_id), within=patience(120))
    finally:
        restarted.stop()
    sent = sent_tracking_ids(sink.handler, campaign_id)
    assert set(sent) == await expected_message_ids(world, campaign_id)
    assert set(sent.values()) == {1}
    async with world.engine.connect() as conn:
        flagged = await conn.scalar(
            text(
                "SELECT count(*) FROM campaign_recipients "
                "WHERE campaign_id = :c AND possible_duplicate"
            ),
            {"c": campaign_id},
        )
    assert flagged == 0
