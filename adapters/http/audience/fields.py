"""Field types the audience schemas share, with the bounds the OpenAPI document states.

The core checks the same rules (and the ones a schema cannot state, like the depth of
`custom_fields`); stating them here tells clients what is valid.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from litestar.params import QueryParameter

from openmailer.core.audience import policies
from openmailer.core.errors import ValidationError
from openmailer.core.pages import MAX_CURSOR_CHARS

# Syntax is checked by the address validator (422 `invalid_email`), not by a pattern here.
EmailInput = Annotated[
    str, msgspec.Meta(min_length=3, max_length=320, examples=["ann@example.com"])
]
PersonName = Annotated[str, msgspec.Meta(max_length=policies.MAX_NAME_CHARS, examples=["Ann"])]
# Items of arrays carry no constraints of their own: the OpenAPI document would not show them
# (Litestar drops them), so the core checks each item instead (422).
Tags = Annotated[list[str], msgspec.Meta(max_length=policies.MAX_TAGS, examples=[["vip"]])]
CustomFields = Annotated[
    dict[str, Any],
    msgspec.Meta(
        max_length=policies.MAX_CUSTOM_FIELD_KEYS,
        description=f"a JSON object of at most {policies.MAX_CUSTOM_FIELDS_BYTES} bytes, "
        f"nested at most {policies.MAX_CUSTOM_FIELDS_DEPTH} levels",
        examples=[{"plan": "pro", "city": "Lyon"}],
    ),
]
IpAddress = Annotated[str, msgspec.Meta(min_length=2, max_length=45, examples=["203.0.113.7"])]
# Date-times are text: decoding into `datetime` directly would also take a number (a Unix time),
# which the document does not allow. The offset is required in bodies, optional in queries.
_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
_OFFSET = r"([Zz]|[+-][0-9]{2}:[0-9]{2})"
AwareDateTimeText = Annotated[
    str,
    msgspec.Meta(
        pattern=f"^{_DATE}{_OFFSET}$",
        description="RFC 3339 date-time with an offset",
        examples=["2026-12-01T09:30:00Z"],
    ),
]
QUERY_DATE_TIME = f"^{_DATE}{_OFFSET}?$"
OverrideReason = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
ListName = Annotated[str, msgspec.Meta(min_length=1, max_length=policies.MAX_LIST_NAME_CHARS)]
Description = Annotated[str, msgspec.Meta(max_length=policies.MAX_DESCRIPTION_CHARS)]

AfterCursor = Annotated[
    str | None,
    QueryParameter(
        min_length=1,
        max_length=MAX_CURSOR_CHARS,
        description="`next_cursor` of the previous page (keyset paging)",
    ),
]


def parse_time(text: str | None, *, field: str) -> datetime | None:
    """A date-time the pattern let through (a 13th month is 422); without an offset, UTC."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            f"{field} is not a valid date-time", field=field, code="invalid_date_time"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
