"""The retention jobs beside a campaign that is sending: they never wait for the locks a claim
holds, and a claim and its results never wait for a retention batch's locks. Both sides run
with a short lock_timeout, so a wait would fail the test instead of passing slowly."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Any, cast

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openmailer.adapters.db import campaign_sending
from openmailer.adapters.db.engine import create_engine
from openmailer.adapters.db.retention import batches
from openmailer.adapters.db.retention.jobs import RETENTION_JOBS
from openmailer.adapters.db.retention.store import (
    SqlAlchemyRetentionRunLog,
    SqlAlchemyRetentionSettings,
)
from openmailer.adapters.db.unit_of_work import SharedTransaction
from openmailer.core.ports.campaign_sending import RecipientResult, RecipientState
from openmailer.core.retention.model import Cadence, RetentionRun
from openmailer.core.retention.policy import ContactHistory, RetentionSettings
from openmailer.core.retention.runner import run_jobs
from tests.integration.retention.retention_helpers import NOW, Seed, days_ago, report_of

pytestmark = pytest.mark.integration

SHORT_LOCK_TIMEOUT_MS = 300
RECIPIENTS = 20  # two are sent beside each daily job: room for more jobs


class Sending:
    def __init__(self, user_id: int, campaign_id: int) -> None:
        self.user_id, self.campaign_id = user_id, campaign_id


async def sending_campaign_with_old_rows(seed: Seed) -> Sending:
    """A SENDING campaign to RECIPIENTS subscribed contacts, and beside them rows of the same
    user (and list) that every retention job removes: old unconfirmed contacts, left
    memberships and overrides (the user keeps history a year), logs, events, keys, tombstones;
    the user's count is last month's."""
    user = await seed.user(month=date(2031, 2, 1))
    await SqlAlchemyRetentionSettings(seed.engine).put(
        user, RetentionSettings(contact_history=ContactHistory.ONE_YEAR)
    )
    audience = await seed.contact_list(user)
    template = await seed.one(
        "INSERT INTO email_templates (name, subject, body, created_by)"
        " VALUES ('t', 's', 'b', :user) RETURNING id",
        user=user,
    )
    campaign = await seed.one(
        "INSERT INTO email_campaigns (name, template_id, created_by, status, total_recipients)"
        " VALUES ('c', :template, :user, 'SENDING', :count) RETURNING id",
        template=template,
        user=user,
        count=RECIPIENTS,
    )
    for number in range(RECIPIENTS):
        contact = await seed.contact(user)
        await seed.member(contact, audience)
        await seed.override(contact, user, created=days_ago(800))
        await seed.one(
            "INSERT INTO campaign_recipients (campaign_id, contact_id, status, tracking_id)"
            " VALUES (:campaign, :contact, 'PENDING', :tracking) RETURNING id",
            campaign=campaign,
            contact=contact,
            tracking=f"beside-{campaign}-{number}",
        )
    for _ in range(5):
        stale = await seed.contact(user, status="PENDING", created=days_ago(60))
        await seed.member(stale, audience)
        left = await seed.contact(user, status="UNSUBSCRIBED", created=days_ago(900))
        await seed.member(left, audience, status="REMOVED", removed=days_ago(800))
        await seed.email_log(user, created=days_ago(200))
        await seed.webhook_event(user, processed=True, created=days_ago(60))
        await seed.api_key(user, expires=days_ago(3))
        await seed.tombstone(user, erased=days_ago(3000))
    await seed.recount(audience)
    return Sending(user, campaign)


@pytest.fixture
async def send_engine(retention_database_url: str) -> AsyncIterator[AsyncEngine]:
    """The send path's connections, refusing to wait long for any lock."""
    engine = create_engine(
        retention_database_url,
        connect_args={"server_settings": {"lock_timeout": str(SHORT_LOCK_TIMEOUT_MS)}},
    )
    yield engine
    await engine.dispose()


@pytest.fixture(autouse=True)
def short_batch_lock_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batches, "LOCK_TIMEOUT", f"{SHORT_LOCK_TIMEOUT_MS}ms")


async def test_the_jobs_complete_while_a_claim_holds_its_locks(
    engine: AsyncEngine, send_engine: AsyncEngine
) -> None:
    seed = Seed(engine)
    sending = await sending_campaign_with_old_rows(seed)
    run = RetentionRun(now=NOW, batch_size=2)

    async with send_engine.connect() as held:
        await held.begin()
        # The claim's own statements in a transaction left open: the campaign FOR SHARE, the
        # batch's recipients FOR UPDATE, and the user's row (the quota taken).
        store = campaign_sending.SqlAlchemyCampaignSendStore(SharedTransaction(held))
        claim = await store.claim(sending.user_id, sending.campaign_id, limit=5, lease_seconds=60)
        assert len(claim.recipients) == 5
        reports = await asyncio.wait_for(
            run_jobs(RETENTION_JOBS, engine, run, SqlAlchemyRetentionRunLog(engine)), timeout=60
        )
        await held.commit()

    assert [report.error for report in reports] == [None] * len(reports)
    assert report_of(reports, "pending-contacts").rows == {"contacts": 5}
    assert report_of(reports, "email-logs").rows == {"email_logs": 5}
    assert report_of(reports, "contact-history").rows == {
        "contact_list_memberships": 5,
        "contact_status_overrides": RECIPIENTS,
    }
    # The one user's row was the claim's (its quota): skipped, not waited for. The claim dated
    # the count itself.
    assert report_of(reports, "monthly-counters").rows == {"users": 0}
    assert (
        await seed.value("SELECT count(*) FROM campaign_recipients WHERE status = 'SENDING'") == 5
    )


class PausingEngine:
    """The engine a job runs on, holding its first batch's transaction open (its locks taken,
    its rows changed) until released; counts the batches."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.batches = 0
        self.holding = asyncio.Event()
        self.release = asyncio.Event()

    def connect(self) -> Any:
        return self.engine.connect()

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.begin() as conn:
            yield conn
            self.batches += 1
            if self.batches == 1:
                self.holding.set()
                await self.release.wait()


async def send_some(store: campaign_sending.SqlAlchemyCampaignSendStore, sending: Sending) -> int:
    """One claim and its results, as a worker's batch does."""
    claim = await store.claim(sending.user_id, sending.campaign_id, limit=2, lease_seconds=60)
    assert claim.lease is not None
    results = [
        RecipientResult(r.id, r.email, RecipientState.SENT, provider_message_id=f"m-{r.id}")
        for r in claim.recipients
    ]
    await store.record_results(
        sending.user_id, sending.campaign_id, lease=claim.lease, subject="s", results=results
    )
    return len(results)


async def test_a_campaign_sends_while_each_daily_job_holds_a_batch_open(
    engine: AsyncEngine, send_engine: AsyncEngine
) -> None:
    seed = Seed(engine)
    sending = await sending_campaign_with_old_rows(seed)
    store = campaign_sending.SqlAlchemyCampaignSendStore(send_engine)
    run = RetentionRun(now=NOW, batch_size=2)
    sent = 0
    batches_of: dict[str, int] = {}
    daily = [job for job in RETENTION_JOBS if job.cadence is Cadence.DAILY]
    for job in daily:
        paused = PausingEngine(engine)
        running = asyncio.create_task(job.run(cast(AsyncEngine, paused), run))
        await asyncio.wait_for(paused.holding.wait(), timeout=30)
        sent += await send_some(store, sending)  # fails on lock_timeout if it had to wait
        paused.release.set()
        await asyncio.wait_for(running, timeout=30)
        batches_of[job.name] = paused.batches

    assert sent == 2 * len(daily)  # two recipients sent while each job held its batch
    assert (
        await seed.value(
            "SELECT sent_count FROM email_campaigns WHERE id = :c", c=sending.campaign_id
        )
        == sent
    )
    # (Their email logs are dated by the database's clock, years before the jobs' NOW: the
    # email-logs job may take them, so the recipients' states are the proof.)
    assert (
        await seed.value(
            "SELECT count(*) FROM campaign_recipients WHERE campaign_id = :c AND status = 'SENT'",
            c=sending.campaign_id,
        )
        == sent
    )
    # 5 rows in batches of 2: 3 batches, each its own transaction.
    assert batches_of["pending-contacts"] == 3
    assert batches_of["webhook-events"] == 3
