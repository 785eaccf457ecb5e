"""A segment's conditions: the spec's JSON, checked against the registered operators.

    {"operator": "AND", "rules": [
        {"field": "tags", "operator": "contains", "value": "vip"},
        {"operator": "NOT", "rules": [{"field": "status", "operator": "equals",
                                       "value": "UNSUBSCRIBED"}]}]}

A group is `AND`, `OR` or `NOT` (none of its rules holds: NOT of their AND) over rules and
groups, nested at most `MAX_DEPTH` groups deep. A problem is reported with the JSON pointer of
the part that is wrong (`/rules/1/rules/0/value`), so a client can point at it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from openmailer.core.errors import ValidationError
from openmailer.core.registry import Registry
from openmailer.core.segments.operators import BadValue, FieldKind, SegmentOperator, normalize

MAX_DEPTH = 5
MAX_RULES = 200
CUSTOM_PREFIX = "custom_fields."
MAX_CUSTOM_PATH_DEPTH = 4
# Custom field keys are plain names: the rule's field is echoed in errors and documentation.
CUSTOM_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")

FIELDS: Mapping[str, FieldKind] = {
    "email": FieldKind.TEXT,
    "first_name": FieldKind.TEXT,
    "last_name": FieldKind.TEXT,
    "status": FieldKind.TEXT,
    "source": FieldKind.TEXT,
    "tags": FieldKind.TAGS,
    "created_at": FieldKind.TIMESTAMP,
    "updated_at": FieldKind.TIMESTAMP,
    "lists": FieldKind.MEMBERSHIP,
    "engagement.opened": FieldKind.ENGAGEMENT,
    "engagement.clicked": FieldKind.ENGAGEMENT,
}


class Junction(StrEnum):
    AND = "AND"
    OR = "OR"
    NOT = "NOT"


@dataclass(frozen=True, slots=True)
class Rule:
    field: str
    kind: FieldKind
    path: tuple[str, ...]  # custom_fields.<path> keys; empty for other fields
    operator: str
    value: Any  # normalized by the operator's value shape


@dataclass(frozen=True, slots=True)
class Group:
    junction: Junction
    rules: tuple[Rule | Group, ...]


def field_kind(field: str) -> tuple[FieldKind, tuple[str, ...]] | None:
    if field in FIELDS:
        return FIELDS[field], ()
    if field.startswith(CUSTOM_PREFIX):
        path = tuple(field[len(CUSTOM_PREFIX) :].split("."))
        if len(path) <= MAX_CUSTOM_PATH_DEPTH and all(CUSTOM_KEY.fullmatch(k) for k in path):
            return FieldKind.CUSTOM, path
    return None


def parse_conditions(raw: Any, operators: Registry[SegmentOperator]) -> Group:
    """The checked tree; `ValidationError(field=<JSON pointer>)` at the first problem."""
    counter = [0]
    return _group(raw, "", 1, operators, counter)


def _fail(pointer: str, message: str) -> ValidationError:
    return ValidationError(
        f"{pointer or '/'}: {message}", field=pointer or "/", code="invalid_conditions"
    )


def _group(
    raw: Any, pointer: str, depth: int, operators: Registry[SegmentOperator], counter: list[int]
) -> Group:
    if depth > MAX_DEPTH:
        raise _fail(pointer, f"groups nest at most {MAX_DEPTH} deep")
    if not isinstance(raw, dict) or set(raw) != {"operator", "rules"}:
        raise _fail(pointer, 'a group is {"operator": "AND" | "OR" | "NOT", "rules": [...]}')
    if raw["operator"] not in Junction.__members__:
        raise _fail(f"{pointer}/operator", "a group's operator is AND, OR or NOT")
    rules = raw["rules"]
    if not isinstance(rules, list) or not rules:
        raise _fail(f"{pointer}/rules", "expected a non-empty list of rules and groups")
    parsed: list[Rule | Group] = []
    for index, item in enumerate(rules):
        at = f"{pointer}/rules/{index}"
        counter[0] += 1
        if counter[0] > MAX_RULES:
            raise _fail(at, f"at most {MAX_RULES} rules and groups in all")
        if isinstance(item, dict) and "rules" in item:
            parsed.append(_group(item, at, depth + 1, operators, counter))
        else:
            parsed.append(_rule(item, at, operators))
    return Group(Junction(raw["operator"]), tuple(parsed))


def _rule(raw: Any, pointer: str, operators: Registry[SegmentOperator]) -> Rule:
    if not isinstance(raw, dict) or not {"field", "operator"} <= set(raw) <= {
        "field",
        "operator",
        "value",
    }:
        raise _fail(pointer, 'a rule is {"field": ..., "operator": ..., "value": ...}')
    field = raw["field"]
    known = field_kind(field) if isinstance(field, str) else None
    if known is None:
        raise _fail(
            f"{pointer}/field",
            f"unknown field; known: {', '.join(FIELDS)}, custom_fields.<key>[.<key>...]",
        )
    kind, path = known
    name = raw["operator"]
    operator = operators.get(name) if isinstance(name, str) else None
    if operator is None:
        raise _fail(f"{pointer}/operator", f"unknown operator; known: {', '.join(operators)}")
    form = operator.forms.get(kind)
    if form is None:
        raise _fail(f"{pointer}/operator", f"{name!r} does not apply to a {kind.value} field")
    try:
        value = normalize(form.value, raw.get("value"))
    except BadValue as error:
        raise _fail(f"{pointer}/value", str(error)) from None
    return Rule(field=field, kind=kind, path=path, operator=name, value=value)
