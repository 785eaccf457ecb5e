"""The segment operator contract: what a plugin registers with `register_segment_operators`.

An operator is named by its registry key and says, for each kind of field it applies to, the
shape of value it accepts (checked here, when a segment is saved) and how it becomes SQL: a
function of a `FieldSql` (the rule's field, built by the db adapter) and the normalized value,
returning a SQLAlchemy boolean expression. Core never imports SQLAlchemy; plugins may, and need
nothing from `openmailer.adapters`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openmailer.core.ports.segments import FieldSql

MAX_TEXT_LENGTH = 1_000
MAX_LIST_ITEMS = 100
MAX_NUMBER = 1e15  # larger magnitudes are not a segment rule, and would lose precision
MAX_ID = 2**53 - 1
MAX_WITHIN_DAYS = 36_500


class FieldKind(StrEnum):
    TEXT = "text"  # email, first_name, last_name, status, source
    TAGS = "tags"  # the TEXT[] of tags
    TIMESTAMP = "timestamp"  # created_at, updated_at
    CUSTOM = "custom"  # custom_fields.<path>, a JSONB value
    MEMBERSHIP = "membership"  # lists: active membership in the caller's lists
    ENGAGEMENT = "engagement"  # opened / clicked, from campaign_recipients


class ValueShape(StrEnum):
    """What a rule's `value` must be; `normalize` turns the JSON into what `sql` receives."""

    NONE = "none"  # absent or null
    TEXT = "text"  # a string
    SCALAR = "scalar"  # a string, number or boolean
    NUMBER = "number"  # a finite number
    DATE = "date"  # an ISO 8601 date or date-time string -> date or naive UTC datetime
    ORDERED = "ordered"  # a NUMBER or a DATE
    TEXT_LIST = "text_list"  # a non-empty list of strings
    SCALAR_LIST = "scalar_list"  # a non-empty list of SCALARs
    ID = "id"  # a positive integer (a list or campaign id)
    ID_LIST = "id_list"  # a non-empty list of IDs
    RANGE = "range"  # [low, high] of two DATEs or two NUMBERs, low <= high
    DATE_RANGE = "date_range"  # [low, high] of two DATEs, low <= high
    ENGAGEMENT = "engagement"  # {"campaign_id"?: ID, "within_days"?: 1..36500}


class BadValue(ValueError):
    """The value does not have the operator's shape; the message says what was expected."""


SqlBuilder = Callable[["FieldSql", Any], Any]


@dataclass(frozen=True, slots=True)
class OperatorForm:
    """How an operator works on one kind of field."""

    value: ValueShape
    sql: SqlBuilder


@dataclass(frozen=True, slots=True)
class SegmentOperator:
    """A registry value: the forms by field kind; a kind absent here is refused at save time."""

    forms: Mapping[FieldKind, OperatorForm]
    description: str = ""


def like_pattern(text: str, *, starts: bool = False, ends: bool = False) -> str:
    """A LIKE pattern matching `text` literally (`%`, `_` and `\\` escaped, escape char `\\`):
    anywhere, or at the start or end. Use with `.ilike(pattern, escape="\\\\")`."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return ("" if starts else "%") + escaped + ("" if ends else "%")


def normalize(shape: ValueShape, value: Any) -> Any:
    """The value in the form `sql` receives; `BadValue` when it does not fit the shape."""
    return _NORMALIZERS[shape](value)


def _none(value: Any) -> None:
    if value is not None:
        raise BadValue("this operator takes no value")


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise BadValue("expected a string")
    if len(value) > MAX_TEXT_LENGTH:
        raise BadValue(f"expected at most {MAX_TEXT_LENGTH} characters")
    if "\x00" in value:  # PostgreSQL text cannot hold NUL
        raise BadValue("a string cannot contain NUL")
    return value


def _number(value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadValue("expected a number")
    if not math.isfinite(value) or abs(value) > MAX_NUMBER:
        raise BadValue(f"expected a finite number of magnitude at most {MAX_NUMBER:.0e}")
    return value


def _scalar(value: Any) -> str | int | float | bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return _number(value)
    if isinstance(value, str):
        return _text(value)
    raise BadValue("expected a string, number or boolean")


def _date(value: Any) -> date | datetime:
    if not isinstance(value, str) or len(value) > 40:
        raise BadValue("expected an ISO 8601 date or date-time string")
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadValue("expected an ISO 8601 date or date-time string") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _ordered(value: Any) -> int | float | date | datetime:
    if isinstance(value, str):
        return _date(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadValue("expected a number or an ISO 8601 date")
    return _number(value)


def _list_of(item: Callable[[Any], Any], what: str) -> Callable[[Any], list[Any]]:
    def normalize_list(value: Any) -> list[Any]:
        if not isinstance(value, list) or not 1 <= len(value) <= MAX_LIST_ITEMS:
            raise BadValue(f"expected a list of 1 to {MAX_LIST_ITEMS} {what}")
        try:
            return [item(part) for part in value]
        except BadValue as error:
            raise BadValue(f"expected a list of {what}: {error}") from None

    return normalize_list


def _id(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise BadValue("expected a positive integer id")
    return value


def _range(value: Any) -> tuple[Any, Any]:
    if not isinstance(value, list) or len(value) != 2:
        raise BadValue("expected [low, high]")
    low, high = (_ordered(part) for part in value)
    if _kind_of(low) != _kind_of(high):
        raise BadValue("expected two numbers or two dates")
    if _comparable(low) > _comparable(high):
        raise BadValue("expected low <= high")
    return low, high


def _date_range(value: Any) -> tuple[Any, Any]:
    low, high = _range(value)
    if not isinstance(low, date):
        raise BadValue("expected two dates")
    return low, high


def _kind_of(value: Any) -> str:
    return "date" if isinstance(value, date) else "number"


def _comparable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    return value


@dataclass(frozen=True, slots=True)
class Engagement:
    """Opened (or clicked) a campaign: any, or the given one; ever, or in the last N days."""

    campaign_id: int | None = None
    within_days: int | None = None


def _engagement(value: Any) -> Engagement:
    if value is None:
        return Engagement()
    if not isinstance(value, dict) or not set(value) <= {"campaign_id", "within_days"}:
        raise BadValue('expected {"campaign_id"?: id, "within_days"?: days}')
    campaign = value.get("campaign_id")
    days = value.get("within_days")
    if days is not None and (
        isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_WITHIN_DAYS
    ):
        raise BadValue(f"within_days: expected 1 to {MAX_WITHIN_DAYS}")
    return Engagement(campaign_id=None if campaign is None else _id(campaign), within_days=days)


_NORMALIZERS: dict[ValueShape, Callable[[Any], Any]] = {
    ValueShape.NONE: _none,
    ValueShape.TEXT: _text,
    ValueShape.SCALAR: _scalar,
    ValueShape.NUMBER: _number,
    ValueShape.DATE: _date,
    ValueShape.ORDERED: _ordered,
    ValueShape.TEXT_LIST: _list_of(_text, "strings"),
    ValueShape.SCALAR_LIST: _list_of(_scalar, "strings, numbers or booleans"),
    ValueShape.ID: _id,
    ValueShape.ID_LIST: _list_of(_id, "ids"),
    ValueShape.RANGE: _range,
    ValueShape.DATE_RANGE: _date_range,
    ValueShape.ENGAGEMENT: _engagement,
}
