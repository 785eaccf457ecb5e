"""The segments endpoints: saving with checked conditions, tenancy, counts, previews, and an
operator from a third-party package (installed from tests/plugin_packages/)."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar

from tests.integration.segments.conftest import World, rule
from tests.integration.segments.segment_helpers import add_contact

pytestmark = pytest.mark.integration

API = "/api/v1/segments"


def deep(depth: int) -> dict[str, Any]:
    group: dict[str, Any] = {"field": "email", "operator": "is_not_empty"}
    for _ in range(depth):
        group = {"operator": "AND", "rules": [group]}
    return group


BAD_CONDITIONS: list[tuple[dict[str, Any] | list[Any], str]] = [
    (
        {"operator": "AND", "rules": [
            {"field": "email", "operator": "equals", "value": "x"},
            {"operator": "OR", "rules": [{"field": "email", "operator": "equals", "value": 3}]},
        ]},
        "/rules/1/rules/0/value",
    ),
    (
        {"operator": "AND", "rules": [
            {"field": "email", "operator": "equals", "value": "x"},
            {"operator": "OR", "rules": [{"field": "nope", "operator": "equals", "value": "x"}]},
        ]},
        "/rules/1/rules/0/field",
    ),
    (rule("email", "resembles", "x"), "/rules/0/operator"),
    (rule("tags", "greater_than", 3), "/rules/0/operator"),  # not for a tags field
    (rule("created_at", "greater_than", "yesterday"), "/rules/0/value"),
    (rule("custom_fields.score", "between", [9, 1]), "/rules/0/value"),
    (rule("custom_fields.a b", "equals", "x"), "/rules/0/field"),
    (rule("lists", "in", []), "/rules/0/value"),
    (rule("engagement.opened", "equals", {"within_days": 0}), "/rules/0/value"),
    (rule("email", "is_empty", "x"), "/rules/0/value"),
    ({"operator": "XOR", "rules": [{"field": "email", "operator": "is_empty"}]}, "/operator"),
    ({"operator": "AND", "rules": []}, "/rules"),
    ({"rules": []}, "/"),
    (deep(6), "/rules/0/rules/0/rules/0/rules/0/rules/0"),
]  # fmt: skip


@pytest.mark.parametrize(("conditions", "pointer"), BAD_CONDITIONS)
async def test_bad_conditions_are_422_naming_the_json_pointer(
    world: World, conditions: dict[str, Any], pointer: str
) -> None:
    for path, body in ((API, {"name": "bad", "conditions": conditions}),
                       (f"{API}/preview", {"conditions": conditions})):  # fmt: skip
        response = await world.client.post(path, json=body, headers=world.caller.headers)
        assert response.status_code == 422, response.text
        problem = response.json()
        assert problem["code"] == "invalid_conditions"
        assert problem["errors"][0]["field"] == pointer, problem
    saved = await create(world, rule("email", "is_not_empty"))
    response = await world.client.patch(
        f"{API}/{saved['id']}", json={"conditions": conditions}, headers=world.caller.headers
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == pointer


async def test_five_groups_deep_is_accepted(world: World) -> None:
    assert await world.matching(deep(5)) == {"ann", "bob", "cy", "dee"}


HOSTILE = [
    "'; DROP TABLE contacts; --",
    '" OR 1=1 --',
    "%",
    "_%_",
    "\\",
    "\\%'",
    "$1",
    "'::jsonb",
    "a\x00b",
    "\u202e\ud7ff",
    "ann@example.com' OR 'x'='x",
    '}{"a": 1}',
    "x" * 1001,
]


@pytest.mark.contract
async def test_hostile_strings_in_every_operator_are_values_not_sql(
    app: Litestar, world: World
) -> None:
    operators = app.state.areas.segment_operators
    fields = ["email", "tags", "custom_fields.location", "created_at"]
    sent = 0
    for name in operators:
        for field in fields:
            for hostile in HOSTILE:
                for value in (hostile, [hostile], [hostile, hostile], {"campaign_id": hostile}):
                    response = await world.preview(rule(field, name, value))
                    assert response.status_code in (200, 422), (name, field, value, response.text)
                    if response.status_code == 200:
                        ids = [c["id"] for c in response.json()["contacts"]]
                        assert world.names(ids) <= {"ann", "bob", "cy", "dee"}
                    sent += 1
        response = await world.preview(rule("email' OR 1=1 --", name, "x"))
        assert response.status_code == 422
    assert sent > 500
    assert await world.matching(rule("email", "is_not_empty")) == {"ann", "bob", "cy", "dee"}
    # Hostile text that is a valid value is matched literally: no contact has it.
    assert await world.matching(rule("email", "contains", "' OR 'x'='x")) == set()


async def create(world: World, conditions: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body = {"name": "segment", "conditions": conditions, **fields}
    response = await world.client.post(API, json=body, headers=world.caller.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_create_read_update_list_and_delete(world: World) -> None:
    conditions = rule("tags", "contains", "vip")
    created = await create(world, conditions, description="the best", list_id=world.lists["one"])
    assert created["conditions"] == conditions
    assert created["list_id"] == world.lists["one"]
    assert created["cached_count"] == 0 and created["last_calculated_at"] is None
    url, headers = f"{API}/{created['id']}", world.caller.headers
    assert (await world.client.get(url, headers=headers)).json() == created
    changed = await world.client.patch(url, json={"name": "VIPs", "list_id": None}, headers=headers)
    assert changed.status_code == 200, changed.text
    assert changed.json()["name"] == "VIPs" and changed.json()["list_id"] is None
    assert changed.json()["conditions"] == conditions
    listed = (await world.client.get(API, headers=headers)).json()
    assert [item["id"] for item in listed["items"]] == [created["id"]] and listed["total"] == 1
    assert (await world.client.delete(url, headers=headers)).status_code == 204
    assert (await world.client.get(url, headers=headers)).status_code == 404


async def test_another_users_segment_and_list_are_404(world: World) -> None:
    theirs = await create(world, rule("email", "is_not_empty"))
    url, stranger = f"{API}/{theirs['id']}", world.other.headers
    for method, body in (("GET", None), ("PATCH", {"name": "mine"}), ("DELETE", None)):
        response = await world.client.request(method, url, json=body, headers=stranger)
        assert response.status_code == 404, (method, response.text)
    assert (await world.client.get(f"{url}/count", headers=stranger)).status_code == 404
    assert (await world.client.get(API, headers=stranger)).json()["total"] == 0
    foreign = {"name": "x", "conditions": rule("email", "is_empty"), "list_id": world.foreign_list}
    assert (
        await world.client.post(API, json=foreign, headers=world.caller.headers)
    ).status_code == 404
    response = await world.client.patch(
        url, json={"list_id": world.foreign_list}, headers=world.caller.headers
    )
    assert response.status_code == 404
    # the segment is still whole after the refused changes
    assert (await world.client.get(url, headers=world.caller.headers)).json()["list_id"] is None


async def test_count_recomputes_and_is_cached_on_the_segment(app: Litestar, world: World) -> None:
    segment = await create(world, rule("email", "ends_with", "example.com"))
    url, headers = f"{API}/{segment['id']}", world.caller.headers
    first = await world.client.get(f"{url}/count", headers=headers)
    assert first.status_code == 200 and first.json()["count"] == 2
    stored = (await world.client.get(url, headers=headers)).json()
    assert stored["cached_count"] == 2
    assert stored["last_calculated_at"] is not None
    engine = app.state.resources.engine
    await add_contact(engine, world.caller.user, "eve@example.com")
    assert (await world.client.get(url, headers=headers)).json()["cached_count"] == 2
    second = (await world.client.get(f"{url}/count", headers=headers)).json()
    assert second["count"] == 3
    assert second["last_calculated_at"] > first.json()["last_calculated_at"]
    assert (await world.client.get(url, headers=headers)).json()["cached_count"] == 3


async def test_a_list_limited_segment_counts_only_active_members(world: World) -> None:
    segment = await create(world, rule("email", "is_not_empty"), list_id=world.lists["one"])
    counted = await world.client.get(f"{API}/{segment['id']}/count", headers=world.caller.headers)
    assert counted.json()["count"] == 2  # Ann and Cy; Bob was removed from the list


async def test_preview_returns_the_first_contacts_and_stores_nothing(world: World) -> None:
    body = {"conditions": rule("email", "contains", "example"), "limit": 2}
    response = await world.client.post(f"{API}/preview", json=body, headers=world.caller.headers)
    assert response.status_code == 200
    preview = response.json()
    assert preview["count"] == 3
    assert [c["id"] for c in preview["contacts"]] == sorted(
        world.contacts[name] for name in ("ann", "bob")
    )
    assert preview["contacts"][0] == {
        "id": world.contacts["ann"],
        "email": "ann@example.com",
        "first_name": "Ann",
        "last_name": "Lee",
        "status": "SUBSCRIBED",
    }
    assert (await world.client.get(API, headers=world.caller.headers)).json()["total"] == 0


async def test_a_third_party_operator_is_used_by_a_segment_over_http(
    app: Litestar, world: World
) -> None:
    operators = app.state.areas.segment_operators
    assert operators.plugin_of("email_domain") == "email-domain"  # its entry point's name
    assert operators.plugin_of("equals") == "segment-operators"
    conditions = rule("email", "email_domain", ["EXAMPLE.org", "test.io"])
    segment = await create(world, conditions)
    counted = await world.client.get(f"{API}/{segment['id']}/count", headers=world.caller.headers)
    assert counted.json()["count"] == 2
    assert await world.matching(conditions) == {"bob", "cy"}
    wrong = await world.preview(rule("tags", "email_domain", ["example.org"]))
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "/rules/0/operator"
    wrong_value = await world.preview(rule("email", "email_domain", "example.org"))
    assert wrong_value.json()["errors"][0]["field"] == "/rules/0/value"


async def test_reads_need_read_contacts_and_writes_need_write_contacts(
    app: Litestar, world: World
) -> None:
    from openmailer.core.accounts.scopes import Scope

    document = app.openapi_schema.to_schema()
    expected = {
        ("post", API): Scope.WRITE_CONTACTS,
        ("get", API): Scope.READ_CONTACTS,
        ("post", f"{API}/preview"): Scope.READ_CONTACTS,
        ("get", f"{API}/{{segment_id}}"): Scope.READ_CONTACTS,
        ("patch", f"{API}/{{segment_id}}"): Scope.WRITE_CONTACTS,
        ("delete", f"{API}/{{segment_id}}"): Scope.WRITE_CONTACTS,
        ("get", f"{API}/{{segment_id}}/count"): Scope.READ_CONTACTS,
    }
    for (method, path), scope in expected.items():
        assert document["paths"][path][method]["security"] == [{"BearerAuth": [scope.value]}]
