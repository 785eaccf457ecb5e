"""Each field and operator family returns exactly the right contacts of the fixture set."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.segments.conftest import World, rule

pytestmark = pytest.mark.integration

ALL = {"ann", "bob", "cy", "dee"}

TEXT_RULES: list[tuple[str, str, Any, set[str]]] = [
    ("email", "equals", "ann@example.com", {"ann"}),
    ("email", "not_equals", "ann@example.com", {"bob", "cy", "dee"}),
    ("email", "contains", "EXAMPLE", {"ann", "bob", "dee"}),
    ("email", "not_contains", "example", {"cy"}),
    ("email", "starts_with", "B", {"bob"}),
    ("email", "ends_with", ".io", {"cy"}),
    # LIKE's wildcards are escaped: they match themselves only
    ("email", "contains", "%", {"cy"}),
    ("email", "contains", "_", {"cy"}),
    ("email", "starts_with", "_", set()),
    ("first_name", "is_empty", None, {"cy"}),
    ("last_name", "is_empty", None, {"bob", "cy", "dee"}),
    ("last_name", "is_not_empty", None, {"ann"}),
    ("first_name", "in", ["Ann", "Dee"], {"ann", "dee"}),
    ("first_name", "not_in", ["Ann"], {"bob", "cy", "dee"}),
    ("status", "equals", "SUBSCRIBED", {"ann"}),
    ("status", "in", ["PENDING", "BOUNCED"], {"cy", "dee"}),
    ("source", "is_not_empty", None, {"ann", "bob"}),
    ("source", "equals", "API", {"ann"}),
]
TAG_RULES = [
    ("tags", "contains", "vip", {"ann"}),
    ("tags", "equals", "news", {"ann", "bob"}),
    ("tags", "in", ["vip", "news"], {"ann", "bob"}),
    ("tags", "not_in", ["vip"], {"bob", "cy", "dee"}),
    ("tags", "not_contains", "news", {"cy", "dee"}),
    ("tags", "is_empty", None, {"cy", "dee"}),
    ("tags", "is_not_empty", None, {"ann", "bob"}),
]
DATE_RULES = [
    ("created_at", "greater_than", "2024-01-01", {"ann", "cy", "dee"}),
    ("created_at", "less_than", "2024-01-01", {"bob"}),
    ("created_at", "between", ["2024-01-01", "2024-12-31"], {"ann", "cy"}),
    ("created_at", "equals", "2024-03-01", {"ann"}),
    ("created_at", "greater_than", "2024-03-01T09:00:00+00:00", {"ann", "cy", "dee"}),
    ("created_at", "less_than", "2024-03-01T11:00:00+02:00", {"bob"}),
    ("updated_at", "is_not_empty", None, ALL),
]
CUSTOM_RULES = [
    ("custom_fields.location", "equals", "New York", {"ann"}),
    ("custom_fields.location", "not_equals", "New York", {"bob", "cy", "dee"}),
    ("custom_fields.location", "contains", "new", {"ann"}),
    ("custom_fields.location", "starts_with", "Bos", {"bob"}),
    ("custom_fields.location", "ends_with", "york", {"ann"}),
    ("custom_fields.location", "in", ["Boston", "Paris"], {"bob"}),
    ("custom_fields.location", "not_in", ["Boston"], {"ann", "cy", "dee"}),
    ("custom_fields.location", "is_empty", None, {"cy", "dee"}),
    ("custom_fields.location", "is_not_empty", None, {"ann", "bob"}),
    # numbers compare as numbers; "high" is not a number and matches no comparison
    ("custom_fields.score", "greater_than", 10, {"ann"}),
    ("custom_fields.score", "less_than", 10, {"bob"}),
    ("custom_fields.score", "between", [7, 42], {"ann", "bob"}),
    ("custom_fields.score", "equals", 42, {"ann"}),
    ("custom_fields.score", "greater_than", 8, {"ann"}),
    # dates compare as dates
    ("custom_fields.birthday", "greater_than", "1989-01-01", {"ann"}),
    ("custom_fields.birthday", "less_than", "1989-01-01", {"bob"}),
    ("custom_fields.birthday", "between", ["1980-01-01", "1995-01-01"], {"ann", "bob"}),
    ("custom_fields.interests", "contains", "tech", {"ann"}),
    ("custom_fields.interests", "not_contains", "tech", {"bob", "cy", "dee"}),
    ("custom_fields.nested.tier", "equals", "gold", {"ann"}),
    ("custom_fields.missing", "is_empty", None, ALL),
]


@pytest.mark.parametrize(
    ("field", "operator", "value", "expected"), TEXT_RULES + TAG_RULES + DATE_RULES + CUSTOM_RULES
)
async def test_a_rule_matches_exactly_its_contacts(
    world: World, field: str, operator: str, value: Any, expected: set[str]
) -> None:
    assert await world.matching(rule(field, operator, value)) == expected


async def test_list_membership_counts_active_members_of_the_callers_lists(world: World) -> None:
    one, two = world.lists["one"], world.lists["two"]
    assert await world.matching(rule("lists", "equals", one)) == {"ann", "cy"}  # bob: REMOVED
    assert await world.matching(rule("lists", "in", [one, two])) == {"ann", "cy", "dee"}
    assert await world.matching(rule("lists", "not_equals", one)) == {"bob", "dee"}
    assert await world.matching(rule("lists", "is_empty")) == {"bob"}
    assert await world.matching(rule("lists", "equals", world.foreign_list)) == set()


async def test_engagement_rules_read_campaign_recipients(world: World) -> None:
    first, second = world.campaigns["first"], world.campaigns["second"]
    opened, clicked = "engagement.opened", "engagement.clicked"
    assert await world.matching(rule(opened, "is_not_empty")) == {"ann", "bob", "cy"}
    assert await world.matching(rule(opened, "is_empty")) == {"dee"}
    assert await world.matching(rule(opened, "equals", {"within_days": 30})) == {"ann", "cy"}
    assert await world.matching(rule(opened, "equals", {"campaign_id": first})) == {"ann", "bob"}
    assert await world.matching(rule(opened, "not_equals", {"campaign_id": first})) == {
        "cy",
        "dee",
    }
    recent_first = {"campaign_id": first, "within_days": 30}
    assert await world.matching(rule(opened, "equals", recent_first)) == {"ann"}
    assert await world.matching(rule(opened, "in", [second])) == {"cy"}
    assert await world.matching(rule(clicked, "equals", {})) == {"cy"}
    assert await world.matching(rule(clicked, "not_in", [second])) == {"ann", "bob", "dee"}


async def test_groups_nest_with_and_or_not(world: World) -> None:
    vip = {"field": "tags", "operator": "contains", "value": "vip"}
    not_vip = {"operator": "NOT", "rules": [vip]}
    assert await world.matching(not_vip) == {"bob", "cy", "dee"}
    subscribed = {"field": "status", "operator": "equals", "value": "SUBSCRIBED"}
    news_not_com = {
        "operator": "AND",
        "rules": [
            {"field": "tags", "operator": "contains", "value": "news"},
            {"operator": "NOT", "rules": [
                {"field": "email", "operator": "ends_with", "value": ".com"},
            ]},
        ],
    }  # fmt: skip
    assert await world.matching({"operator": "OR", "rules": [subscribed, news_not_com]}) == {
        "ann",
        "bob",
    }
    # NOT reads an absent first name as "not Ann": Cy has none and is kept
    not_ann = {"operator": "NOT", "rules": [{"field": "first_name", "operator": "equals",
                                             "value": "Ann"}]}  # fmt: skip
    assert await world.matching(not_ann) == {"bob", "cy", "dee"}
    # NOT of several rules: not (all of them)
    both = {"operator": "NOT", "rules": [vip, subscribed]}
    assert await world.matching(both) == {"bob", "cy", "dee"}
    deep = {"operator": "AND", "rules": [{"operator": "OR", "rules": [{"operator": "NOT",
            "rules": [{"operator": "AND", "rules": [not_vip]}]}]}]}  # fmt: skip
    assert await world.matching(deep) == {"ann"}


async def test_a_list_limited_preview_keeps_only_that_lists_active_members(world: World) -> None:
    anyone = rule("email", "is_not_empty")
    assert await world.matching(anyone, list_id=world.lists["one"]) == {"ann", "cy"}
    assert await world.matching(rule("tags", "is_empty"), list_id=world.lists["one"]) == {"cy"}
    response = await world.preview(anyone, list_id=world.foreign_list)
    assert response.status_code == 404, response.text
