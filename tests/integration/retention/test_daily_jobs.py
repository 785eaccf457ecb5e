"""The daily jobs with the spec's fixed periods, on rows aged against a fixed clock: exactly the
old rows go (in batches), the rest stay, a second run removes nothing, a dry run changes nothing
and counts the same."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.retention.retention_helpers import (
    NOW,
    Seed,
    days_ago,
    dry_then_real_then_again,
    job_named,
    run,
)

pytestmark = pytest.mark.integration

LIST_COUNTS = (
    "SELECT l.total_contacts, l.active_contacts,"
    " (SELECT count(*) FROM contact_list_memberships m WHERE m.list_id = l.id"
    "  AND m.status = 'ACTIVE'),"
    " (SELECT count(*) FROM contact_list_memberships m JOIN contacts c ON c.id = m.contact_id"
    "  WHERE m.list_id = l.id AND m.status = 'ACTIVE' AND c.status = 'SUBSCRIBED')"
    " FROM contact_lists l WHERE l.id = :list"
)


async def test_unconfirmed_contacts_go_after_30_days_and_the_list_counts_stay_true(
    engine: AsyncEngine,
) -> None:
    seed = Seed(engine)
    owner, other = await seed.user(), await seed.user()
    first, second = await seed.contact_list(owner), await seed.contact_list(owner)
    stale = [await seed.contact(owner, status="PENDING", created=days_ago(31)) for _ in range(7)]
    kept = [
        await seed.contact(owner, status="PENDING", created=days_ago(29)),
        # added long ago, but sent a confirmation 10 days ago: its 30 days run from that
        await seed.contact(
            owner, status="PENDING", created=days_ago(90), confirmation_sent=days_ago(10)
        ),
        await seed.contact(owner, status="SUBSCRIBED", created=days_ago(400)),
        await seed.contact(owner, status="UNSUBSCRIBED", created=days_ago(400)),
    ]
    for contact in [*stale, *kept]:
        await seed.member(contact, first)
    await seed.member(stale[0], second)
    await seed.member(kept[2], second)
    others = await seed.contact(other, status="PENDING", created=days_ago(10))
    await seed.recount(first, second)
    assert await seed.rows(LIST_COUNTS, list=first) == [(11, 1, 11, 1)]

    dry, real, again = await dry_then_real_then_again(
        job_named("pending-contacts"),
        engine,
        seed,
        ["contacts", "contact_list_memberships"],
    )

    assert dry == real == {"contacts": 7}
    assert again == {"contacts": 0}
    assert await seed.ids("contacts") == {*kept, others}
    assert (
        await seed.value(
            "SELECT count(*) FROM contact_list_memberships WHERE contact_id = ANY(:ids)", ids=stale
        )
        == 0
    )
    assert await seed.rows(LIST_COUNTS, list=first) == [(4, 1, 4, 1)]
    assert await seed.rows(LIST_COUNTS, list=second) == [(1, 1, 1, 1)]


async def test_email_logs_go_after_90_days(engine: AsyncEngine) -> None:
    seed = Seed(engine)
    owner = await seed.user()
    old = [await seed.email_log(owner, created=days_ago(91 + n)) for n in range(8)]
    recent = [
        await seed.email_log(owner, created=days_ago(89)),
        await seed.email_log(owner, created=NOW),
    ]

    dry, real, again = await dry_then_real_then_again(
        job_named("email-logs"), engine, seed, ["email_logs"]
    )

    assert dry == real == {"email_logs": len(old)}
    assert again == {"email_logs": 0}
    assert await seed.ids("email_logs") == set(recent)


async def test_processed_webhook_events_go_after_30_days_and_unprocessed_ones_stay(
    engine: AsyncEngine,
) -> None:
    seed = Seed(engine)
    owner = await seed.user()
    old_processed = [
        await seed.webhook_event(owner, processed=True, created=days_ago(31)) for _ in range(5)
    ]
    kept = [
        await seed.webhook_event(owner, processed=False, created=days_ago(120)),
        await seed.webhook_event(owner, processed=True, created=days_ago(29)),
    ]

    dry, real, again = await dry_then_real_then_again(
        job_named("webhook-events"), engine, seed, ["webhook_events"]
    )

    assert dry == real == {"webhook_events": len(old_processed)}
    assert again == {"webhook_events": 0}
    assert await seed.ids("webhook_events") == set(kept)


async def test_expired_api_keys_are_marked_inactive_and_the_rows_stay(
    engine: AsyncEngine,
) -> None:
    seed = Seed(engine)
    owner = await seed.user()
    expired = [await seed.api_key(owner, expires=days_ago(1 + n)) for n in range(4)]
    live = [
        await seed.api_key(owner, expires=days_ago(-1)),
        await seed.api_key(owner, expires=None),
    ]
    await seed.api_key(owner, expires=days_ago(5), active=False)  # already inactive: not counted
    active = "SELECT id FROM api_keys WHERE is_active ORDER BY id"

    dry = await run(job_named("expired-api-keys"), engine, dry_run=True, batch_size=3)
    assert await seed.rows(active) == [(key,) for key in [*expired, *live]]
    real = await run(job_named("expired-api-keys"), engine, batch_size=3)
    again = await run(job_named("expired-api-keys"), engine, batch_size=3)

    assert dry == real == {"api_keys": len(expired)}
    assert again == {"api_keys": 0}
    assert await seed.rows(active) == [(key,) for key in live]
    assert await seed.value("SELECT count(*) FROM api_keys") == 7


async def test_the_erasure_audit_is_kept_seven_years(engine: AsyncEngine) -> None:
    seed = Seed(engine)
    owner = await seed.user()
    past = [await seed.tombstone(owner, erased=days_ago(7 * 365 + 1 + n)) for n in range(4)]
    kept = await seed.tombstone(owner, erased=days_ago(7 * 365 - 1))

    dry, real, again = await dry_then_real_then_again(
        job_named("erasure-audit"), engine, seed, ["erased_contacts"]
    )

    assert dry == real == {"erased_contacts": len(past)}
    assert again == {"erased_contacts": 0}
    assert await seed.ids("erased_contacts") == {kept}
