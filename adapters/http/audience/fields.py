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
from openmailer.core.pages import MAX_CURSOR_CHARS

# Syntax is checked by the address validator (422 `invalid_email`), not by a pattern here.
EmailInput = Annotated[
    str, msgspec.Meta(min_length=3, max_length=320, examples=["ann@example.com"])
]
PersonName = Annotated[str, msgspec.Meta(max_length=policies.MAX_NAME_CHARS, examples=["Ann"])]
Tag = Annotated[
    str, msgspec.Meta(min_length=1, max_length=policies.MAX_TAG_CHARS, examples=["vip"])
]
Tags = Annotated[list[Tag], msgspec.Meta(max_length=policies.MAX_TAGS)]
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
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]
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


def as_aware(moment: datetime | None) -> datetime | None:
    """Query times without an offset are read as UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)
