"""The lifecycle over HTTP: schedule, unschedule, cancel, the 409s of a state that does not
allow an action, and concurrent schedules of which exactly one wins."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.campaigns.campaign_helpers import create_campaign
from tests.integration.campaigns.conftest import World
from tests.integration.segments.segment_helpers import add_contact, add_list, add_member

pytestmark = pytest.mark.integration
BASE = "/api/v1/campaigns"


def later(hours: int = 1) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


async def sendable_campaign(world: World) -> dict[str, Any]:
    """A campaign with one subscribed recipient, for a user with no provider (outbox only: no
    verified domain needed)."""
    owner = world.owner
    list_id = await add_list(world.engine, owner.user)
    contact = await add_contact(
        world.engine, owner.user, f"reader{list_id}@example.org", status="SUBSCRIBED"
    )
    await add_member(world.engine, contact, list_id)
    return await create_campaign(
        world.client, owner.caller, template_id=owner.template_id, list_id=list_id
    )


async def test_schedule_unschedule_cancel(world: World) -> None:
    client, headers = world.client, world.owner.caller.headers
    campaign = await sendable_campaign(world)
    url = f"{BASE}/{campaign['id']}"
    at = later(2)

    scheduled = await client.post(f"{url}/schedule", json={"scheduled_at": at}, headers=headers)
    assert scheduled.status_code == 200, scheduled.text
    assert scheduled.json()["status"] == "SCHEDULED"
    assert datetime.fromisoformat(scheduled.json()["scheduled_at"]) == datetime.fromisoformat(at)

    edit = await client.patch(url, json={"name": "late edit"}, headers=headers)
    assert (edit.status_code, edit.json()["code"]) == (409, "campaign_not_editable")
    assert (await client.delete(url, headers=headers)).status_code == 409
    again = await client.post(f"{url}/schedule", json={"scheduled_at": at}, headers=headers)
    assert (again.status_code, again.json()["code"]) == (409, "invalid_transition")
    assert "SCHEDULED" in again.json()["detail"] and "schedule" in again.json()["detail"]

    back = await client.post(f"{url}/unschedule", headers=headers)
    assert back.json()["status"] == "DRAFT" and back.json()["scheduled_at"] is None
    assert (await client.patch(url, json={"name": "edited"}, headers=headers)).status_code == 200

    cancel_draft = await client.post(f"{url}/cancel", headers=headers)
    assert (cancel_draft.status_code, cancel_draft.json()["code"]) == (409, "invalid_transition")
    await client.post(f"{url}/schedule", json={"scheduled_at": at}, headers=headers)
    cancelled = await client.post(f"{url}/cancel", headers=headers)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "CANCELLED"
    final = await client.post(f"{url}/unschedule", headers=headers)
    assert (final.status_code, final.json()["code"]) == (409, "invalid_transition")
    assert "CANCELLED" in final.json()["detail"]


@pytest.mark.parametrize(
    "scheduled_at",
    [
        (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
        (datetime.now(UTC) + timedelta(days=400)).isoformat(),
        "2030-01-01T10:00:00",  # no offset
        "tomorrow",
    ],
)
async def test_a_bad_schedule_time_is_refused(world: World, scheduled_at: str) -> None:
    campaign = await sendable_campaign(world)
    response = await world.client.post(
        f"{BASE}/{campaign['id']}/schedule",
        json={"scheduled_at": scheduled_at},
        headers=world.owner.caller.headers,
    )
    assert response.status_code in (400, 422), response.text
    still = await world.client.get(f"{BASE}/{campaign['id']}", headers=world.owner.caller.headers)
    assert still.json()["status"] == "DRAFT"


async def test_a_campaign_with_a_blocking_problem_cannot_be_scheduled(world: World) -> None:
    owner = world.owner
    empty_list = await add_list(world.engine, owner.user)
    campaign = await create_campaign(
        world.client, owner.caller, template_id=owner.template_id, list_id=empty_list
    )
    response = await world.client.post(
        f"{BASE}/{campaign['id']}/schedule",
        json={"scheduled_at": later()},
        headers=owner.caller.headers,
    )
    assert (response.status_code, response.json()["code"]) == (409, "preflight_blocked")
    assert "no_recipients" in response.json()["detail"]


async def test_ten_concurrent_schedules_one_wins(world: World) -> None:
    campaign = await sendable_campaign(world)
    url = f"{BASE}/{campaign['id']}/schedule"

    async def schedule() -> tuple[int, str | None]:
        response = await world.client.post(
            url, json={"scheduled_at": later()}, headers=world.owner.caller.headers
        )
        return response.status_code, response.json().get("code")

    results = await asyncio.gather(*(schedule() for _ in range(10)))
    assert sorted(status for status, _ in results) == [200] + [409] * 9
    assert {code for status, code in results if status == 409} == {"invalid_transition"}


async def test_schedule_without_a_time_is_422(world: World) -> None:
    campaign = await sendable_campaign(world)
    response = await world.client.post(
        f"{BASE}/{campaign['id']}/schedule", json={}, headers=world.owner.caller.headers
    )
    assert (response.status_code, response.json()["code"]) == (422, "validation_failed")
    assert "scheduled_at" in response.text
