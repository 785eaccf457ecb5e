"""Campaign CRUD over HTTP: validation, tenancy, what only a DRAFT may do."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.campaigns.campaign_helpers import (
    add_domain,
    add_provider,
    add_template,
    create_campaign,
)
from tests.integration.campaigns.conftest import World
from tests.integration.segments.segment_helpers import add_list

pytestmark = pytest.mark.integration
BASE = "/api/v1/campaigns"


async def test_create_read_list_update_delete(world: World) -> None:
    owner, client = world.owner, world.client
    list_id = await add_list(world.engine, owner.user)
    created = await create_campaign(
        client,
        owner.caller,
        template_id=owner.template_id,
        list_id=list_id,
        from_name="Example News",
        send_speed=50,
        max_retries=0,
        track_clicks=False,
    )
    assert created["status"] == "DRAFT"
    assert (created["list_id"], created["segment_id"]) == (list_id, None)
    assert (created["send_speed"], created["max_retries"], created["track_clicks"]) == (
        50,
        0,
        False,
    )
    assert created["total_recipients"] == 0 and created["template_version"] is None

    url = f"{BASE}/{created['id']}"
    got = await client.get(url, headers=owner.caller.headers)
    assert got.status_code == 200 and got.json() == created

    changed = await client.patch(
        url, json={"name": "Renamed", "from_name": None}, headers=owner.caller.headers
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["name"] == "Renamed" and changed.json()["from_name"] is None
    assert changed.json()["send_speed"] == 50  # untouched

    listed = await client.get(BASE, params={"status": "DRAFT"}, headers=owner.caller.headers)
    assert [item["id"] for item in listed.json()["items"]] == [created["id"]]
    assert listed.json()["total"] == 1
    none_scheduled = await client.get(
        BASE, params={"status": "SCHEDULED"}, headers=owner.caller.headers
    )
    assert none_scheduled.json()["total"] == 0

    assert (await client.delete(url, headers=owner.caller.headers)).status_code == 204
    assert (await client.get(url, headers=owner.caller.headers)).status_code == 404


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"from_name": "News\r\nBcc: x@evil.example"}, "from_name", "header_injection"),
        ({"subject_line": "Hi\nthere"}, "subject_line", "header_injection"),
        ({"reply_to_email": "a@b.example\0"}, "reply_to_email", "invalid_text"),
        ({"from_email": "not-an-address"}, "from_email", "validation_failed"),
        ({"list_id": None}, "list_id", "no_audience"),
    ],
)
async def test_bad_settings_are_422_naming_the_field(
    world: World, fields: dict[str, Any], field: str, code: str
) -> None:
    owner = world.owner
    body = {
        "name": "x",
        "from_email": "news@example.com",
        "template_id": owner.template_id,
        "list_id": await add_list(world.engine, owner.user),
        **fields,
    }
    response = await world.client.post(BASE, json=body, headers=owner.caller.headers)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == code
    assert field in response.text


@pytest.mark.parametrize("body", [{"send_speed": 0}, {"send_speed": 10_001}, {"max_retries": 11}])
async def test_numbers_out_of_range_are_refused(world: World, body: dict[str, Any]) -> None:
    owner = world.owner
    full = {
        "name": "x",
        "from_email": "news@example.com",
        "template_id": owner.template_id,
        "list_id": await add_list(world.engine, owner.user),
        **body,
    }
    response = await world.client.post(BASE, json=full, headers=owner.caller.headers)
    assert response.status_code in (400, 422), response.text


async def test_every_reference_must_be_the_callers(world: World) -> None:
    owner, stranger = world.owner, world.stranger
    mine = await add_list(world.engine, owner.user)
    theirs_list = await add_list(world.engine, stranger.user)
    theirs_domain, _ = await add_domain(world.accounts, stranger.user, verified=True)
    theirs_provider = await add_provider(world.accounts, stranger.user)
    cases = [
        ({"template_id": stranger.template_id, "list_id": mine}, "template_not_found"),
        ({"template_id": owner.template_id, "list_id": theirs_list}, "list_not_found"),
        (
            {"template_id": owner.template_id, "list_id": mine, "domain_id": theirs_domain},
            "domain_not_found",
        ),
        (
            {"template_id": owner.template_id, "list_id": mine, "provider_id": theirs_provider},
            "provider_not_found",
        ),
        ({"template_id": owner.template_id, "segment_id": 2**40}, "segment_not_found"),
    ]
    for fields, code in cases:
        response = await world.client.post(
            BASE,
            json={"name": "x", "from_email": "news@example.com", **fields},
            headers=owner.caller.headers,
        )
        assert (response.status_code, response.json()["code"]) == (404, code), fields


async def test_from_email_must_be_at_the_campaigns_domain(world: World) -> None:
    owner = world.owner
    domain_id, name = await add_domain(world.accounts, owner.user, verified=True)
    list_id = await add_list(world.engine, owner.user)
    base = {"name": "x", "template_id": owner.template_id, "list_id": list_id}
    wrong = await world.client.post(
        BASE,
        json={**base, "from_email": "news@elsewhere.example", "domain_id": domain_id},
        headers=owner.caller.headers,
    )
    assert (wrong.status_code, wrong.json()["code"]) == (422, "from_domain_mismatch")
    right = await world.client.post(
        BASE,
        json={**base, "from_email": f"news@{name}", "domain_id": domain_id},
        headers=owner.caller.headers,
    )
    assert right.status_code == 201, right.text


async def test_another_users_campaign_is_404_everywhere(world: World) -> None:
    stranger = world.stranger
    theirs = await create_campaign(
        world.client,
        stranger.caller,
        template_id=stranger.template_id,
        list_id=await add_list(world.engine, stranger.user),
    )
    url, headers = f"{BASE}/{theirs['id']}", world.owner.caller.headers
    assert (await world.client.get(url, headers=headers)).status_code == 404
    assert (await world.client.patch(url, json={"name": "y"}, headers=headers)).status_code == 404
    assert (await world.client.delete(url, headers=headers)).status_code == 404
    assert (await world.client.get(f"{url}/preflight", headers=headers)).status_code == 404
    assert (await world.client.post(f"{url}/cancel", headers=headers)).status_code == 404
    listed = await world.client.get(BASE, headers=headers)
    assert theirs["id"] not in [item["id"] for item in listed.json()["items"]]
    still = await world.client.get(url, headers=stranger.caller.headers)
    assert still.json()["name"] == theirs["name"]


async def test_a_null_for_a_required_setting_is_refused(world: World) -> None:
    owner = world.owner
    created = await create_campaign(
        world.client,
        owner.caller,
        template_id=owner.template_id,
        list_id=await add_list(world.engine, owner.user),
    )
    response = await world.client.patch(
        f"{BASE}/{created['id']}", json={"template_id": None}, headers=owner.caller.headers
    )
    assert response.status_code in (400, 422), response.text
    other_template = await add_template(world.engine, owner.user)
    moved = await world.client.patch(
        f"{BASE}/{created['id']}",
        json={"template_id": other_template},
        headers=owner.caller.headers,
    )
    assert moved.json()["template_id"] == other_template
