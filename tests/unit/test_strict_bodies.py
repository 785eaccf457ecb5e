"""The strict reading of JSON bodies every route gets (adapters/http/strict_input.py)."""

from __future__ import annotations

from datetime import datetime

import msgspec
import pytest
from litestar.exceptions import ValidationException

from openmailer.adapters.http.strict_input import convert_strictly

pytestmark = pytest.mark.unit


class Body(msgspec.Struct):
    count: int
    enabled: bool = False
    at: datetime | None = None
    nested: list[dict[str, int]] = []


def test_integral_floats_are_integers_as_json_schema_counts_them() -> None:
    body = convert_strictly({"count": 5.0, "nested": [{"n": 2.0}]}, Body)
    assert (body.count, body.nested) == (5, [{"n": 2}])
    assert isinstance(body.count, int)


@pytest.mark.parametrize(
    "loose",
    [{"count": 5.5}, {"count": "5"}, {"count": 1, "enabled": 0}, {"count": 1, "at": 1700000000}],
)
def test_what_lax_conversion_would_take_is_refused(loose: dict[str, object]) -> None:
    with pytest.raises(ValidationException) as refused:
        convert_strictly(loose, Body)
    assert "does not match its schema" in refused.value.detail


def test_a_time_written_as_text_is_read() -> None:
    body = convert_strictly({"count": 1, "at": "2026-12-01T10:00:00Z"}, Body)
    assert body.at is not None and body.at.year == 2026
