"""Conditions checked in core: normalized values, pointers, bounds, LIKE escaping."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from openmailer.core.errors import ValidationError
from openmailer.core.registry import Registry
from openmailer.core.segments.conditions import Junction, Rule, parse_conditions
from openmailer.core.segments.operators import SegmentOperator, like_pattern
from openmailer.plugins import segment_operators

pytestmark = pytest.mark.unit


@pytest.fixture
def operators() -> Registry[SegmentOperator]:
    registry: Registry[SegmentOperator] = Registry("segment operator")
    segment_operators.register_segment_operators(registry.registrar("built-in"))
    return registry


def test_values_are_normalized_for_the_sql_builders(operators: Registry[SegmentOperator]) -> None:
    group = parse_conditions(
        {"operator": "OR", "rules": [
            {"field": "created_at", "operator": "greater_than", "value": "2024-01-01"},
            {"field": "created_at", "operator": "less_than", "value": "2024-01-01T12:00:00+02:00"},
            {"field": "custom_fields.a.b", "operator": "between", "value": [1, 2.5]},
        ]},
        operators,
    )  # fmt: skip
    assert group.junction is Junction.OR
    first, second, third = group.rules
    assert isinstance(first, Rule) and first.value == date(2024, 1, 1)
    assert isinstance(second, Rule) and second.value == datetime(2024, 1, 1, 10, 0)
    assert isinstance(third, Rule) and third.path == ("a", "b") and third.value == (1, 2.5)


@pytest.mark.parametrize(
    ("operator", "value", "message"),
    [
        ("greater_than", True, "expected a number"),
        ("equals", "a\x00", "NUL"),
        ("greater_than", 1e300, "finite"),
        ("less_than", ["x"], "number"),
        ("greater_than", "2024-02-30", "ISO 8601"),
    ],
)
def test_a_wrong_value_names_its_pointer(
    operators: Registry[SegmentOperator], operator: str, value: object, message: str
) -> None:
    rule = {"field": "custom_fields.n", "operator": operator, "value": value}
    with pytest.raises(ValidationError, match=message) as raised:
        parse_conditions({"operator": "AND", "rules": [rule]}, operators)
    assert raised.value.field == "/rules/0/value"


def test_too_many_rules_are_refused(operators: Registry[SegmentOperator]) -> None:
    rules = [{"field": "email", "operator": "is_empty"}] * 201
    with pytest.raises(ValidationError) as raised:
        parse_conditions({"operator": "AND", "rules": rules}, operators)
    assert raised.value.field == "/rules/200"


def test_like_patterns_escape_wildcards() -> None:
    assert like_pattern("50%_off\\") == "%50\\%\\_off\\\\%"
    assert like_pattern("ab", starts=True) == "ab%"
    assert like_pattern("ab", ends=True) == "%ab"
