"""Preflight: each exclusion reason constructed, the duplicate across list and segment, the
sending domain, the outbox exception, the limits, and the blocking problems."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import insert, update

from openmailer.adapters.db.contact_erasure import SqlAlchemyContactErasures
from openmailer.adapters.db.tables import EmailTemplate, Segment
from openmailer.adapters.db.tables import User as UserRow
from tests.integration.campaigns.campaign_helpers import (
    add_domain,
    add_provider,
    create_campaign,
)
from tests.integration.campaigns.conftest import World, make_tenant
from tests.integration.segments.segment_helpers import add_contact, add_list, add_member

pytestmark = pytest.mark.integration
BASE = "/api/v1/campaigns"
VIP = {"operator": "AND", "rules": [{"field": "tags", "operator": "contains", "value": "vip"}]}


async def add_segment(world: World, user_id: int, conditions: dict[str, Any]) -> int:
    table = Segment.__table__
    async with world.engine.begin() as conn:
        row = await conn.execute(
            insert(table)
            .values(user_id=user_id, name="vips", conditions=conditions)
            .returning(table.c.id)
        )
        return int(row.scalar_one())


async def audience(world: World) -> tuple[int, int]:
    """The owner's list and segment: every exclusion reason once, one contact in both."""
    engine, user = world.engine, world.owner.user
    list_id = await add_list(engine, user)
    n = list_id

    async def member(name: str, status: str, **values: Any) -> int:
        contact = await add_contact(engine, user, f"{name}{n}@example.org", status=status, **values)
        await add_member(engine, contact, list_id)
        return contact

    await member("ann", "SUBSCRIBED")
    await member("bob", "UNSUBSCRIBED")
    await member("cat", "BOUNCED")
    await member("dan", "COMPLAINED")
    await member("eve", "PENDING")
    await member("fay", "SUBSCRIBED", tags=["vip"])  # in the list and the segment
    removed = await add_contact(engine, user, f"rex{n}@example.org", status="SUBSCRIBED")
    await add_member(engine, removed, list_id, status="REMOVED")
    # Erased, then added again by a path that did not consult the tombstones.
    gone = await add_contact(engine, user, f"Gus{n}@example.org", status="SUBSCRIBED")
    erasures = SqlAlchemyContactErasures(engine, world.accounts.secret_box)  # type: ignore[arg-type]
    assert await erasures.erase(user.id, gone, at=datetime.now(UTC)) is not None
    await member("gus", "SUBSCRIBED")
    await add_contact(engine, user, f"hal{n}@example.org", status="SUBSCRIBED", tags=["vip"])
    # The stranger's look-alike VIP is never reached.
    await add_contact(
        engine, world.stranger.user, f"hal{n}@example.org", status="SUBSCRIBED", tags=["vip"]
    )
    return list_id, await add_segment(world, user.id, VIP)


async def preflight(world: World, campaign_id: int, headers: dict[str, str] | None = None) -> Any:
    response = await world.client.get(
        f"{BASE}/{campaign_id}/preflight", headers=headers or world.owner.caller.headers
    )
    assert response.status_code == 200, response.text
    return response.json()


def codes(problems: list[dict[str, str]]) -> set[str]:
    return {problem["code"] for problem in problems}


async def test_the_breakdown_names_every_exclusion(world: World) -> None:
    list_id, segment_id = await audience(world)
    owner = world.owner
    campaign = await create_campaign(
        world.client,
        owner.caller,
        template_id=owner.template_id,
        list_id=list_id,
        segment_id=segment_id,
        send_speed=2,
    )
    report = await preflight(world, campaign["id"])
    assert report["audience"] == {
        "list_members": 7,  # ann bob cat dan eve fay gus (rex's membership is REMOVED)
        "segment_matches": 2,  # fay hal
        "duplicates": 1,  # fay
        "candidates": 8,
        "unsubscribed": 1,
        "bounced": 1,
        "complained": 1,
        "pending": 1,
        "erased": 1,  # gus
        "recipients": 3,  # ann fay hal
    }
    assert report["estimated_duration_seconds"] == 2  # 3 at 2 a second
    # No provider: the outbox is all it reaches, so no verified domain is needed.
    assert report["outbox_only"] is True and report["providers"] == []
    assert report["blocking"] == [] and report["domain"] is None
    assert report["one_click_unsubscribe_signed"] is False
    assert report["template_version"] == 1
    assert report["monthly_headroom"] == report["monthly_limit"] - report["monthly_sent"]
    again = await world.client.get(f"{BASE}/{campaign['id']}", headers=owner.caller.headers)
    assert again.json()["total_recipients"] == 0  # a dry run stores nothing

    segment_only = await create_campaign(
        world.client, owner.caller, template_id=owner.template_id, segment_id=segment_id
    )
    counted = (await preflight(world, segment_only["id"]))["audience"]
    assert (counted["list_members"], counted["segment_matches"], counted["recipients"]) == (0, 2, 2)


async def test_a_real_provider_needs_a_verified_domain(world: World) -> None:
    owner, accounts = world.owner, world.accounts
    list_id, _ = await audience(world)
    provider_id = await add_provider(accounts, owner.user, daily_limit=1)
    campaign = await create_campaign(
        world.client, owner.caller, template_id=owner.template_id, list_id=list_id
    )
    report = await preflight(world, campaign["id"])
    assert report["outbox_only"] is False
    assert [p["id"] for p in report["providers"]] == [provider_id]
    assert report["providers"][0]["daily_limit"] == 1  # two recipients
    assert "domain_not_verified" in codes(report["blocking"])
    assert "provider_daily_limit" in codes(report["warnings"])

    pending_id, pending_name = await add_domain(accounts, owner.user, verified=False)
    url = f"{BASE}/{campaign['id']}"
    await world.client.patch(
        url,
        json={"domain_id": pending_id, "from_email": f"news@{pending_name}"},
        headers=owner.caller.headers,
    )
    assert "domain_not_verified" in codes((await preflight(world, campaign["id"]))["blocking"])

    domain_id, name = await add_domain(accounts, owner.user, verified=True)
    patched = await world.client.patch(
        url,
        json={"domain_id": domain_id, "from_email": f"news@{name}"},
        headers=owner.caller.headers,
    )
    assert patched.status_code == 200, patched.text
    report = await preflight(world, campaign["id"])
    assert report["blocking"] == []
    assert report["domain"] == {
        "id": domain_id,
        "name": name,
        "status": "VERIFIED",
        "spf_verified": True,
        "dkim_verified": True,
        "dmarc_verified": False,
    }
    assert "dmarc_not_verified" in codes(report["warnings"])
    assert report["one_click_unsubscribe_signed"] is True

    # An om_test_ key only ever reaches the outbox: the domain rule does not apply to it.
    test_tenant = await make_tenant(accounts, test_key=True)
    await add_provider(accounts, test_tenant.user)
    test_list = await add_list(world.engine, test_tenant.user)
    contact = await add_contact(
        world.engine, test_tenant.user, "t@example.org", status="SUBSCRIBED"
    )
    await add_member(world.engine, contact, test_list)
    test_campaign = await create_campaign(
        world.client, test_tenant.caller, template_id=test_tenant.template_id, list_id=test_list
    )
    test_report = await preflight(world, test_campaign["id"], test_tenant.caller.headers)
    assert test_report["outbox_only"] is True and test_report["blocking"] == []


async def test_blocking_problems(world: World) -> None:
    owner = world.owner
    list_id, segment_id = await audience(world)
    campaign = await create_campaign(
        world.client,
        owner.caller,
        template_id=owner.template_id,
        list_id=list_id,
        segment_id=segment_id,
    )
    templates, users = EmailTemplate.__table__, UserRow.__table__
    async with world.engine.begin() as conn:
        await conn.execute(
            update(templates).where(templates.c.id == owner.template_id).values(is_active=False)
        )
        await conn.execute(
            update(users)
            .where(users.c.id == owner.user.id)
            .values(monthly_emails_sent=users.c.monthly_email_limit - 2)
        )
    report = await preflight(world, campaign["id"])
    assert codes(report["blocking"]) == {"template_inactive", "monthly_limit_exceeded"}
    assert report["monthly_headroom"] == 2

    empty = await create_campaign(
        world.client,
        owner.caller,
        template_id=owner.template_id,
        list_id=await add_list(world.engine, owner.user),
    )
    assert "no_recipients" in codes((await preflight(world, empty["id"]))["blocking"])
