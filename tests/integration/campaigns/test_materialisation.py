"""Materialising recipients: set-based INSERTs over list members and segment matches (one per
part of the audience, at once), suppressed and removed ones left out, idempotent, a part that
dies leaving a campaign the send path does not start; the conditional UPDATE under concurrency."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from litestar import Litestar
from sqlalchemy import event, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from openmailer.adapters.bootstrap import DatabaseResources, build_campaigns, builtin_areas
from openmailer.adapters.db import campaign_audience
from openmailer.adapters.db.campaign_audience import MATERIALISE_PARTS
from openmailer.adapters.db.campaigns import SqlAlchemyCampaignRepository
from openmailer.adapters.db.contact_erasure import SqlAlchemyContactErasures
from openmailer.adapters.db.engine import create_engine
from openmailer.adapters.db.tables import CampaignRecipient, EmailTemplate, Segment
from openmailer.adapters.settings import Settings
from openmailer.core.campaigns.lifecycle import CampaignStatus
from openmailer.core.campaigns.service import CampaignsService
from openmailer.core.errors import Conflict
from tests.integration.campaigns.campaign_helpers import create_campaign
from tests.integration.campaigns.conftest import World
from tests.integration.segments.segment_helpers import add_contact, add_list, add_member

pytestmark = pytest.mark.integration
RECIPIENTS = CampaignRecipient.__table__
STATUSES = ["UNSUBSCRIBED", "BOUNCED", "COMPLAINED", "PENDING"]  # i % 10 < 4; else SUBSCRIBED


async def bulk_contacts(engine: AsyncEngine, user_id: int, count: int, *, tag_from: int) -> None:
    """Contacts numbered 0..count-1 (`custom_fields.i`): status by i % 10, tag `seg` from
    `tag_from` on."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                """
                INSERT INTO contacts (user_id, email, status, tags, custom_fields)
                SELECT CAST(:user_id AS bigint),
                       'bulk' || i || '-' || CAST(:user_id AS bigint) || '@example.org',
                       CASE WHEN i % 10 < 4 THEN (CAST(:statuses AS text[]))[i % 10 + 1]
                            ELSE 'SUBSCRIBED' END,
                       CASE WHEN i >= :tag_from THEN ARRAY['seg'] ELSE ARRAY[]::text[] END,
                       jsonb_build_object('i', i)
                FROM generate_series(0, :count - 1) AS i
                """
            ),
            {"user_id": user_id, "count": count, "tag_from": tag_from, "statuses": STATUSES},
        )


async def bulk_members(engine: AsyncEngine, user_id: int, list_id: int, below: int) -> None:
    """Contacts i < `below` join the list; every 50th membership is REMOVED."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                """
                INSERT INTO contact_list_memberships (contact_id, list_id, status)
                SELECT id, :list_id,
                       CASE WHEN (custom_fields->>'i')::int % 50 = 0 THEN 'REMOVED'
                            ELSE 'ACTIVE' END
                FROM contacts
                WHERE user_id = :user_id AND (custom_fields->>'i')::int < :below
                """
            ),
            {"user_id": user_id, "list_id": list_id, "below": below},
        )


async def tagged_segment(engine: AsyncEngine, user_id: int) -> int:
    conditions = {
        "operator": "AND",
        "rules": [{"field": "tags", "operator": "contains", "value": "seg"}],
    }
    async with engine.begin() as conn:
        row = await conn.execute(
            insert(Segment.__table__)
            .values(user_id=user_id, name="seg", conditions=conditions)
            .returning(Segment.__table__.c.id)
        )
        return int(row.scalar_one())


def service_of(app: Litestar) -> CampaignsService:
    campaigns: CampaignsService = app.state.services["campaigns"]
    return campaigns


async def started(app: Litestar, world: World, campaign_id: int) -> None:
    """Moved to SENDING as the send path's start will (it has no route on this branch)."""
    moved = await SqlAlchemyCampaignRepository(world.engine).move(
        world.owner.user.id,
        campaign_id,
        sources=frozenset({CampaignStatus.DRAFT}),
        target=CampaignStatus.SENDING,
    )
    assert moved is not None


async def recipient_rows(engine: AsyncEngine, campaign_id: int) -> list[Any]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT r.contact_id, r.status, r.tracking_id, c.user_id,"
                " c.status AS contact_status,"
                " (c.custom_fields->>'i')::int AS i"
                " FROM campaign_recipients r JOIN contacts c ON c.id = r.contact_id"
                " WHERE r.campaign_id = :campaign_id"
            ),
            {"campaign_id": campaign_id},
        )
        return list(rows)


def expected_numbers(count: int, *, list_below: int, tag_from: int) -> set[int]:
    in_list = {i for i in range(min(count, list_below)) if i % 50 != 0}
    in_segment = set(range(tag_from, count))
    return {i for i in in_list | in_segment if i % 10 >= 4}


async def test_materialise_list_and_segment_once_each_idempotent(
    app: Litestar, world: World
) -> None:
    engine, owner = world.engine, world.owner
    count, list_below, tag_from = 3000, 2000, 1500
    await bulk_contacts(engine, owner.user.id, count, tag_from=tag_from)
    await bulk_contacts(engine, world.stranger.user.id, 100, tag_from=0)  # never reached
    list_id = await add_list(engine, owner.user)
    await bulk_members(engine, owner.user.id, list_id, list_below)
    segment_id = await tagged_segment(engine, owner.user.id)
    async with engine.begin() as conn:
        await conn.execute(
            EmailTemplate.__table__.update()
            .where(EmailTemplate.__table__.c.id == owner.template_id)
            .values(version=4)
        )
    campaign = await create_campaign(
        world.client,
        owner.caller,
        template_id=owner.template_id,
        list_id=list_id,
        segment_id=segment_id,
    )
    report = await world.client.get(
        f"/api/v1/campaigns/{campaign['id']}/preflight", headers=owner.caller.headers
    )
    expected = expected_numbers(count, list_below=list_below, tag_from=tag_from)
    assert report.json()["audience"]["recipients"] == len(expected)
    assert report.json()["audience"]["duplicates"] == len(
        {i for i in range(tag_from, list_below) if i % 50 != 0}
    )

    with pytest.raises(Conflict) as not_started:
        await service_of(app).materialise_recipients(owner.user.id, campaign["id"])
    assert not_started.value.code == "campaign_not_sending"

    await started(app, world, campaign["id"])
    total = await service_of(app).materialise_recipients(owner.user.id, campaign["id"])
    assert total == len(expected)
    rows = await recipient_rows(engine, campaign["id"])
    assert {row.i for row in rows} == expected
    assert {row.user_id for row in rows} == {owner.user.id}
    assert {row.contact_status for row in rows} == {"SUBSCRIBED"}
    assert {row.status for row in rows} == {"PENDING"}
    tracking_ids = [row.tracking_id for row in rows]
    assert len(set(tracking_ids)) == len(rows)
    pattern = rf"{campaign['id']}-[0-9a-f]{{32}}"  # the campaign, then 122 random bits
    assert all(re.fullmatch(pattern, tracking_id) for tracking_id in tracking_ids)

    again = await service_of(app).materialise_recipients(owner.user.id, campaign["id"])
    assert again == total
    after = [row.tracking_id for row in await recipient_rows(engine, campaign["id"])]
    assert sorted(after) == sorted(tracking_ids)  # the same rows, not new ones
    async with engine.connect() as conn:
        stored = await conn.scalar(
            select(func.count())
            .select_from(RECIPIENTS)
            .where(RECIPIENTS.c.campaign_id == campaign["id"])
        )
    assert stored == total
    read = await world.client.get(
        f"/api/v1/campaigns/{campaign['id']}", headers=owner.caller.headers
    )
    assert read.json()["total_recipients"] == total
    assert read.json()["template_version"] == 4
    assert read.json()["status"] == "SENDING"


async def test_concurrent_moves_one_wins(app: Litestar, world: World) -> None:
    owner = world.owner
    campaign = await create_campaign(
        world.client,
        owner.caller,
        template_id=owner.template_id,
        list_id=await add_list(world.engine, owner.user),
    )
    repository = SqlAlchemyCampaignRepository(world.engine)
    moves = [
        repository.move(
            owner.user.id,
            campaign["id"],
            sources=frozenset({CampaignStatus.DRAFT}),
            target=CampaignStatus.SENDING,
        )
        for _ in range(10)
    ]
    results = await asyncio.gather(*moves)
    assert sum(result is not None for result in results) == 1


@pytest.fixture
async def bulk_engine(accounts_settings: Settings) -> AsyncIterator[AsyncEngine]:
    """Without the app's statement timeout: inserting 100k contacts may take longer."""
    assert accounts_settings.database_url is not None
    engine = create_engine(accounts_settings.database_url)
    yield engine
    await engine.dispose()


async def test_materialise_100k_contacts(
    app: Litestar, world: World, bulk_engine: AsyncEngine, accounts_settings: Settings
) -> None:
    engine, owner = bulk_engine, world.owner
    count = 100_000
    await bulk_contacts(engine, owner.user.id, count, tag_from=count // 2)
    list_id = await add_list(engine, owner.user)
    await bulk_members(engine, owner.user.id, list_id, count * 3 // 4)
    segment_id = await tagged_segment(engine, owner.user.id)
    async with engine.begin() as conn:
        await conn.execute(text("ANALYZE contacts"))
        await conn.execute(text("ANALYZE contact_list_memberships"))
    campaign = await create_campaign(
        world.client,
        owner.caller,
        template_id=owner.template_id,
        list_id=list_id,
        segment_id=segment_id,
    )
    await started(app, world, campaign["id"])
    # Measured without the API's statement timeout: the figure is printed whatever it is.
    service = build_campaigns(
        DatabaseResources(accounts_settings, bulk_engine), builtin_areas().segment_operators
    )
    analysed_before = await last_analyze(engine)
    began = time.perf_counter()
    total = await service.materialise_recipients(owner.user.id, campaign["id"])
    elapsed = time.perf_counter() - began
    print(f"\nmaterialised {total} recipients of {count} contacts in {elapsed:.2f} s")
    assert total == len(expected_numbers(count, list_below=count * 3 // 4, tag_from=count // 2))
    # So many new PENDING rows refresh the statistics at once: the claims' plan needs them.
    analysed = await last_analyze(engine)
    assert analysed is not None
    assert analysed_before is None or analysed > analysed_before


async def last_analyze(engine: AsyncEngine) -> Any:
    async with engine.connect() as conn:
        return await conn.scalar(
            text(
                "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'campaign_recipients'"
            )
        )


async def test_a_list_too_large_to_hash_is_joined_not_rescanned_per_contact(
    app: Litestar, world: World
) -> None:
    """`contacts.id IN (members)` beside a segment, or in the breakdown's select list, is a
    subplan that PostgreSQL rescans for every contact once the members do not fit in
    `work_mem` (a million-member list: a preflight of minutes). At PostgreSQL's smallest
    `work_mem`, 2,000 members already do not fit; the audience's statements must have no
    subplan then, whatever the list's size."""
    engine, owner = world.engine, world.owner
    await bulk_contacts(engine, owner.user.id, 3000, tag_from=1500)
    list_id = await add_list(engine, owner.user)
    await bulk_members(engine, owner.user.id, list_id, 2000)
    campaign = await create_campaign(
        world.client,
        owner.caller,
        template_id=owner.template_id,
        list_id=list_id,
        segment_id=await tagged_segment(engine, owner.user.id),
    )
    report, total = await assert_no_subplan_at_smallest_work_mem(app, world, campaign["id"])
    assert report["audience"]["recipients"] == total > 0


async def test_tombstones_too_many_to_hash_are_joined_once_each_not_rescanned(
    app: Litestar, world: World
) -> None:
    """The same for the user's tombstones, tested with `IN` before: a user with tens of
    thousands of erasures would have had every start rescan them per contact. Addresses erased
    and added again (one of them twice, so it has two tombstones) stay excluded and counted
    once."""
    engine, owner = world.engine, world.owner
    await bulk_contacts(engine, owner.user.id, 1000, tag_from=1000)
    list_id = await add_list(engine, owner.user)
    await bulk_members(engine, owner.user.id, list_id, 1000)
    erasures = SqlAlchemyContactErasures(engine, world.accounts.secret_box)  # type: ignore[arg-type]
    returned = [f"back{n}-{owner.user.id}@example.org" for n in range(3)]
    for erasures_of_it, address in zip((2, 1, 1), returned, strict=True):
        for _ in range(erasures_of_it):
            gone = await add_contact(engine, owner.user, address, status="SUBSCRIBED")
            assert await erasures.erase(owner.user.id, gone, at=datetime.now(UTC)) is not None
        again = await add_contact(engine, owner.user, address, status="SUBSCRIBED")
        await add_member(engine, again, list_id)
    async with engine.begin() as conn:  # other people's tombstones: more than 64 kB of them
        await conn.execute(
            text(
                "INSERT INTO erased_contacts (user_id, contact_id, address_hash, erased_at)"
                " SELECT :user_id, -i, sha256(int4send(i)), now()"
                " FROM generate_series(1, 3000) AS i"
            ),
            {"user_id": owner.user.id},
        )
    campaign = await create_campaign(
        world.client, owner.caller, template_id=owner.template_id, list_id=list_id
    )
    report, total = await assert_no_subplan_at_smallest_work_mem(app, world, campaign["id"])
    expected = expected_numbers(1000, list_below=1000, tag_from=1000)
    assert report["audience"]["recipients"] == total == len(expected)
    assert report["audience"]["erased"] == len(returned)
    rows = await recipient_rows(engine, campaign["id"])
    assert {row.i for row in rows} == expected  # none of the addresses added back


async def assert_no_subplan_at_smallest_work_mem(
    app: Litestar, world: World, campaign_id: int
) -> tuple[Any, int]:
    """Runs the campaign's preflight and materialisation, then EXPLAINs the statements they
    issued (the breakdown and one insert per part) at PostgreSQL's smallest `work_mem`: none
    may hold a subplan. Answers the preflight's report and the materialised total."""
    engine, owner = world.engine, world.owner
    issued: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        breakdown = "count(*) FILTER" in statement
        if breakdown or statement.lstrip().startswith("INSERT INTO campaign_recipients"):
            issued.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        report = await world.client.get(
            f"/api/v1/campaigns/{campaign_id}/preflight", headers=owner.caller.headers
        )
        await started(app, world, campaign_id)
        total = await service_of(app).materialise_recipients(owner.user.id, campaign_id)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
    assert report.status_code == 200, report.text
    # the breakdown, then one insert per part of the audience
    assert len(issued) == 1 + MATERIALISE_PARTS, [statement[:60] for statement, _ in issued]

    async with engine.connect() as conn:
        await conn.execute(text("SET work_mem = '64kB'"))
        for statement, parameters in issued:
            plan = "\n".join(
                row[0] for row in await conn.exec_driver_sql("EXPLAIN " + statement, parameters)
            )
            assert "SubPlan" not in plan, plan
    return report.json(), total


class PartDied(Exception):
    pass


async def test_a_part_that_dies_leaves_the_campaign_unsent_and_the_next_start_completes_it(
    app: Litestar, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, owner = world.engine, world.owner
    count, list_below, tag_from = 3000, 2000, 1500
    await bulk_contacts(engine, owner.user.id, count, tag_from=tag_from)
    list_id = await add_list(engine, owner.user)
    await bulk_members(engine, owner.user.id, list_id, list_below)
    campaign = await create_campaign(
        world.client, owner.caller, template_id=owner.template_id, list_id=list_id
    )
    await started(app, world, campaign["id"])
    own_part = campaign_audience.SqlAlchemyCampaignAudience._insert_own_part
    committed: list[int] = []
    others_committed = asyncio.Event()

    async def last_part_dies(self: Any, *arguments: Any) -> int:
        if arguments[-1] == MATERIALISE_PARTS - 1:
            # the other parts commit first: their rows stay, as a worker killed here leaves them
            await asyncio.wait_for(others_committed.wait(), 30)
            raise PartDied
        inserted = int(await own_part(self, *arguments))
        committed.append(inserted)  # its transaction has committed
        if len(committed) == MATERIALISE_PARTS - 1:
            others_committed.set()
        return inserted

    monkeypatch.setattr(
        campaign_audience.SqlAlchemyCampaignAudience, "_insert_own_part", last_part_dies
    )
    with pytest.raises(PartDied):  # the part's own error, as the worker's retry judges it
        await service_of(app).materialise_recipients(owner.user.id, campaign["id"])
    expected = expected_numbers(count, list_below=list_below, tag_from=count)
    partial = await recipient_rows(engine, campaign["id"])
    assert 0 < len(partial) < len(expected)  # the committed parts' rows
    read = await world.client.get(
        f"/api/v1/campaigns/{campaign['id']}", headers=owner.caller.headers
    )
    assert read.json()["template_version"] is None  # what the send path waits for
    monkeypatch.undo()

    total = await service_of(app).materialise_recipients(owner.user.id, campaign["id"])
    rows = await recipient_rows(engine, campaign["id"])
    assert total == len(rows) == len(expected)
    assert {row.i for row in rows} == expected
    assert {row.tracking_id for row in partial} <= {row.tracking_id for row in rows}
