"""The built-in segment operators, registered exactly as a third party's would be.

Each operator maps the kinds of field it applies to onto a value shape and a SQL builder over
the field's `FieldSql` facade (docs/plugins.md). Negations treat an absent value as "not equal"
(`coalesce(..., false)`), so `not_equals` keeps contacts with no first name.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, not_, or_
from sqlalchemy.sql.expression import ColumnElement as Expression

from openmailer.core.ports.segments import FieldSql
from openmailer.core.registry import Registrar
from openmailer.core.segments.operators import (
    Engagement,
    FieldKind,
    OperatorForm,
    SegmentOperator,
    SqlBuilder,
    ValueShape,
    like_pattern,
)
from openmailer.plugins import hookimpl

TEXT, TAGS, TIMESTAMP, CUSTOM = (
    FieldKind.TEXT,
    FieldKind.TAGS,
    FieldKind.TIMESTAMP,
    FieldKind.CUSTOM,
)
MEMBERSHIP, ENGAGEMENT = FieldKind.MEMBERSHIP, FieldKind.ENGAGEMENT
ESCAPE = "\\"


def negated(expression: ColumnElement[bool]) -> ColumnElement[bool]:
    return not_(func.coalesce(expression, false()))


def negation_of(builder: SqlBuilder) -> SqlBuilder:
    return lambda field, value: negated(builder(field, value))


def instant(value: date | datetime) -> datetime:
    """A date means its midnight (UTC, like the stored timestamps)."""
    return value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)


def _timestamp_equals(field: FieldSql, value: date | datetime) -> Expression[bool]:
    if isinstance(value, datetime):
        return field.value() == value  # type: ignore[no-any-return]
    start = instant(value)
    return and_(field.value() >= start, field.value() < start + timedelta(days=1))


def _ordered(comparison: str) -> SqlBuilder:
    """Numbers compare as numbers, dates as dates (ISO text in the "C" collation)."""

    def build(field: FieldSql, value: Any) -> Any:
        left: Any
        right: Any
        if field.kind is TIMESTAMP:
            left, right = field.value(), instant(value)
        elif isinstance(value, date):
            left, right = field.date_text(), value.isoformat()
        else:
            left, right = field.number(), value
        return left > right if comparison == ">" else left < right

    return build


def _between(field: FieldSql, value: tuple[Any, Any]) -> Any:
    low, high = value
    if field.kind is TIMESTAMP:
        return field.value().between(instant(low), instant(high))
    if isinstance(low, date):
        return field.date_text().between(low.isoformat(), high.isoformat())
    return field.number().between(low, high)


def _text_like(*, starts: bool = False, ends: bool = False) -> SqlBuilder:
    def build(field: FieldSql, value: str) -> Any:
        matches = field.value().ilike(like_pattern(value, starts=starts, ends=ends), escape=ESCAPE)
        if field.kind is CUSTOM:
            return and_(field.json_type() == "string", matches)
        return matches

    return build


def _custom_contains(field: FieldSql, value: Any) -> Any:
    """An array holding the value, or a string holding it as a substring."""
    holds = field.contains([value])
    if isinstance(value, str):
        return or_(holds, _text_like()(field, value))
    return holds


def _engaged_in(field: FieldSql, campaign_ids: list[int]) -> Any:
    return or_(*(field.engaged(Engagement(campaign_id=campaign)) for campaign in campaign_ids))


def _form(shape: ValueShape, sql: SqlBuilder) -> OperatorForm:
    return OperatorForm(value=shape, sql=sql)


def _equals() -> dict[FieldKind, OperatorForm]:
    return {
        TEXT: _form(ValueShape.TEXT, lambda f, v: f.value() == v),
        TAGS: _form(ValueShape.TEXT, lambda f, v: f.contains(v)),
        TIMESTAMP: _form(ValueShape.DATE, _timestamp_equals),
        CUSTOM: _form(ValueShape.SCALAR, lambda f, v: f.contains(v)),
        MEMBERSHIP: _form(ValueShape.ID, lambda f, v: f.member_of([v])),
        ENGAGEMENT: _form(ValueShape.ENGAGEMENT, lambda f, v: f.engaged(v)),
    }


def _contains() -> dict[FieldKind, OperatorForm]:
    return {
        TEXT: _form(ValueShape.TEXT, _text_like()),
        TAGS: _form(ValueShape.TEXT, lambda f, v: f.contains(v)),
        CUSTOM: _form(ValueShape.SCALAR, _custom_contains),
    }


def _in() -> dict[FieldKind, OperatorForm]:
    return {
        TEXT: _form(ValueShape.TEXT_LIST, lambda f, v: f.value().in_(v)),
        TAGS: _form(ValueShape.TEXT_LIST, lambda f, v: f.overlaps(v)),
        CUSTOM: _form(ValueShape.SCALAR_LIST, lambda f, v: f.overlaps(v)),
        MEMBERSHIP: _form(ValueShape.ID_LIST, lambda f, v: f.member_of(v)),
        ENGAGEMENT: _form(ValueShape.ID_LIST, _engaged_in),
    }


def _negations(forms: dict[FieldKind, OperatorForm]) -> dict[FieldKind, OperatorForm]:
    return {kind: _form(form.value, negation_of(form.sql)) for kind, form in forms.items()}


def _ordered_forms(builder: SqlBuilder, *, ranged: bool) -> dict[FieldKind, OperatorForm]:
    return {
        TIMESTAMP: _form(ValueShape.DATE_RANGE if ranged else ValueShape.DATE, builder),
        CUSTOM: _form(ValueShape.RANGE if ranged else ValueShape.ORDERED, builder),
    }


def _presence(negate: bool) -> dict[FieldKind, OperatorForm]:
    def build(field: FieldSql, _: None) -> Any:
        return negated(field.present()) if negate else field.present()

    return {kind: _form(ValueShape.NONE, build) for kind in FieldKind}


BUILT_IN: dict[str, SegmentOperator] = {
    "equals": SegmentOperator(_equals(), "is the value (tags: has the tag; lists: is a member)"),
    "not_equals": SegmentOperator(_negations(_equals()), "is not the value (or has none)"),
    "contains": SegmentOperator(_contains(), "holds the text (case-insensitive) or the item"),
    "not_contains": SegmentOperator(_negations(_contains()), "does not hold it"),
    "starts_with": SegmentOperator(
        {k: _form(ValueShape.TEXT, _text_like(starts=True)) for k in (TEXT, CUSTOM)},
        "starts with the text (case-insensitive)",
    ),
    "ends_with": SegmentOperator(
        {k: _form(ValueShape.TEXT, _text_like(ends=True)) for k in (TEXT, CUSTOM)},
        "ends with the text (case-insensitive)",
    ),
    "in": SegmentOperator(_in(), "is one of the values (tags: has any of them)"),
    "not_in": SegmentOperator(_negations(_in()), "is none of the values"),
    "greater_than": SegmentOperator(
        _ordered_forms(_ordered(">"), ranged=False), "after the date / above the number"
    ),
    "less_than": SegmentOperator(
        _ordered_forms(_ordered("<"), ranged=False), "before the date / below the number"
    ),
    "between": SegmentOperator(
        _ordered_forms(_between, ranged=True), "within [low, high], both included"
    ),
    "is_empty": SegmentOperator(_presence(negate=True), "absent, null, '' or []"),
    "is_not_empty": SegmentOperator(_presence(negate=False), "present and not empty"),
}


@hookimpl
def register_segment_operators(operators: Registrar[SegmentOperator]) -> None:
    for name, operator in BUILT_IN.items():
        operators.add(name, operator)
